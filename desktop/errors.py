"""The ONE place that turns error codes into Chinese wording for people.

The domain, the store, the sync client and the registry all raise or answer a stable
code (``id_number.check_character``, ``auth.bad_credentials`` ...) plus data; nothing
below this module words an error. ``describe(error)`` accepts a code string, any error of
the one tree (``enrollment.errors``: a refusal such as ``DomainError``/``ValidationErrors`` or
the sync client's ``ApiError``; an ``Unavailable`` such as ``TransportError``, worded by its
``kind``) or any other exception, and returns one sentence. An unknown code gets a generic
sentence that names the code, so a cadre can read it out on the phone.
"""

from __future__ import annotations

import string
from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment import error_codes
from enrollment.errors import Unavailable, YikatongError

_CTX = "errors"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)


# code -> source text (Simplified Chinese), with {placeholders} from the error's data.
# Kept as a function so every string goes through tr() at the moment it is shown.
def _messages() -> dict[str, str]:
    return {
        # ID numbers (enrollment.id_number)
        "id_number.empty": _t("请填写身份证号码"),
        "id_number.length": _t("身份证号码应为18位，现在是{length}位"),
        "id_number.format": _t("身份证号码格式不正确：前17位应为数字，最后一位为数字或X"),
        "id_number.check_character": _t("身份证号码校验位不正确，请逐位核对"),
        "id_number.birth_date_invalid": _t("身份证号码中的出生日期不存在"),
        "id_number.birth_date_future": _t("身份证号码中的出生日期晚于今天"),
        "id_number.birth_date_too_old": _t("身份证号码中的出生年份（{year}年）不合理"),
        "id_number.region_unknown": _t("身份证号码的地区代码不在行政区划表中，请核实后勾选确认"),
        "id_number.region_anachronistic": _t("身份证号码的地区代码在此人可能领证的年份（1984年或出生年起至今）都不存在（已撤销），请核实后勾选确认"),
        "id_number.region_unconfirmed": _t("身份证号码的地区代码需要核实：核对无误后请勾选“已核实地区代码”"),
        # names, phones, other fields (enrollment.text, enrollment.records)
        "name.empty": _t("请填写姓名"),
        "name.too_long": _t("姓名不能超过{max}个字"),
        "name.invalid_character": _t("姓名中含有不允许的字符“{character}”"),
        "phone.invalid": _t("手机号码应为11位数字，以1开头"),
        "sex.invalid": _t("请选择性别"),
        "sex.mismatch": _t("性别与身份证号码不符（应为{expected}）"),
        "birth_date.invalid": _t("出生日期格式应为 年-月-日，例如 1980-05-01"),
        "birth_date.mismatch": _t("出生日期与身份证号码不符（应为{expected}）"),
        "village_code.invalid": _t("村代码应为12位数字"),
        "household_id.invalid": _t("请填写户号（字母、数字、下划线或连字符，最多40位）"),
        "relation.invalid": _t("请选择与户主关系"),
        "relation.unknown": _t("与户主关系“{relation}”不在家庭关系代码表（GB/T 4761）中：请填写如 户主、妻、长子、次女、儿媳、孙子、母亲，或两位代码如 22"),
        "address.too_long": _t("住址不能超过{max}个字"),
        "work_place.empty": _t("请填写外出务工的城市，例如 广东省深圳市"),
        "work_place.too_long": _t("务工城市不能超过{max}个字"),
        "consent.missing": _t("需要本人同意：请勾选“本人已知情并同意”"),
        "attachment.invalid": _t("附件信息无效，请重新选择文件"),
        "attachment.too_large": _t("附件文件太大（最大 {max_mb} MB）"),
        "attachment.unreadable": _t("无法读取所选文件"),
        "record_id.invalid": _t("记录编号无效"),
        "payload.unknown_field": _t("记录中有无法识别的字段"),
        # sessions
        "auth.bad_credentials": _t("用户名或密码错误"),
        "auth.offline_unknown_user": _t("无法连接登记中心，且此用户从未在本机联网登录过：第一次登录必须联网"),
        "auth.token_expired": _t("登录已过期，请重新联网登录后再同步"),
        "auth.missing": _t("尚未联网登录，请先联网登录后再同步"),
        "auth.invalid_token": _t("登录凭据无效，请重新联网登录"),
        "auth.forbidden": _t("您的账号没有执行此操作的权限"),
        "auth.password_empty": _t("请填写密码"),
        "auth.username_empty": _t("请填写用户名"),
        "auth.registry_url_invalid": _t("登记中心地址无效，应以 http:// 或 https:// 开头"),
        "auth.operator_disabled": _t("此账号已被停用，请联系管理员"),
        "auth.locked": _t("密码错误次数过多，请{retry_after}秒后再试"),
        "auth.device_mismatch": _t("登录凭据不属于这台电脑，请重新联网登录"),
        "auth.device_id_invalid": _t("本机设备编号含有不允许的字符，请联系技术支持"),
        "village.not_assigned": _t("您的账号未分配到该村，不能为该村登记"),
        # records and sync
        "record.conflict": _t("该记录已在登记中心被修改（版本冲突），请选择保留哪个版本"),
        "record.base_version_invalid": _t("记录的版本号无效，请联系管理员"),
        "record.content_hash_mismatch": _t("记录内容校验不一致，请重新保存后再同步"),
        "record.not_found": _t("找不到该记录"),
        "record.not_editable": _t("该记录当前状态下不能修改"),
        "record.sending": _t("该记录正在发送，请等同步结束后再修改"),
        "record.no_conflict": _t("该记录没有需要处理的冲突"),
        "record.not_normalized": _t("登记中心拒收：记录内容未按规范整理（例如多余的空格），请打开该记录重新保存后再同步"),
        "attachment.kind_invalid": _t("附件类型无效"),
        "village_code.required": _t("请选择登记的村"),
        "protocol.unsupported_version": _t("本软件版本与登记中心不兼容，请升级软件（登记中心要求协议版本 {min_version}–{max_version}）"),
        "protocol.bad_change": _t("登记中心发来的数据格式与本软件不符，本次未接收，请联系管理员（可能需要升级软件）"),
        "protocol.bad_push_result": _t("登记中心对提交的应答格式与本软件不符，记录将在下次同步时重新发送，请联系管理员"),
        "request.malformed_json": _t("登记中心无法读取本次提交的数据"),
        "request.invalid": _t("登记中心拒绝了本次提交：数据不完整或格式不正确"),
        "request.too_large": _t("提交的内容太大，超过了登记中心的限制"),
        "request.not_found": _t("登记中心地址不正确（找不到接口）"),
        "request.method_not_allowed": _t("登记中心地址不正确（接口不匹配）"),
        "request.moment_out_of_range": _t("查询的时间超出了登记中心可以计算的范围（1970年至9000年）"),
        "blob.offset_mismatch": _t("附件续传位置不一致，将在下次同步时重新续传"),
        "blob.hash_mismatch": _t("附件上传后校验不一致，将在下次同步时重传"),
        "blob.size_invalid": _t("附件大小无效"),
        "blob.missing": _t("登记中心缺少该记录的附件，将在下次同步时补传"),
        "server.internal": _t("登记中心出错（内部错误），请稍后再试；本机已保存的登记不会丢失"),
        "sync.digest_mismatch": _t("同步核对不一致：本机与登记中心的已接收记录不相同，请联系管理员"),
        "sync.cancelled": _t("同步已取消，未完成的记录将在下次同步时继续发送"),
        "sync.busy": _t("正在同步，请等待本次同步结束"),
        "sync.network": _t("同步中断：连接不上登记中心，未发送的记录将在下次同步时继续发送"),
        "sync.server_error": _t("登记中心出错，同步未完成：请稍后再同步；未发送的记录已保存在本机，下次同步时继续发送"),
        "sync.not_configured": _t("尚未设置登记中心地址：请先联网登录一次"),
        "sync.refused": _t("登记中心拒绝了本次同步请求"),
        # transport (sync.http.TransportError and friends)
        "network.unreachable": _t("无法连接登记中心：请检查网络或登记中心地址"),
        "network.timeout": _t("连接登记中心超时，请稍后再试"),
        "network.bad_response": _t("收到的应答不是登记中心发出的（可能是需要网页登录的公共无线网络）"),
        "network.server_error": _t("登记中心出错，请稍后再试；本机已保存的登记不会丢失"),
        # face capture (capture/, the capture dialog): one guidance line at a time
        "face.none": _t("未检测到人脸"),
        "face.multiple": _t("画面中只能有一个人"),
        "face.too_small": _t("靠近一点"),
        "image.too_dark": _t("光线太暗"),
        "image.too_bright": _t("光线太亮"),
        "image.blurry": _t("请保持不动"),
        "image.low_contrast": _t("光线不均匀，请换个位置"),
        "pose.yaw": _t("请正对镜头"),
        "pose.pitch": _t("请正对镜头"),
        "pose.roll": _t("请正对镜头"),
        "eyes.closed": _t("请睁开眼睛"),
        "background.not_plain": _t("请在白色背景前拍摄"),
        "capture.hold_still": _t("保持不动，正在拍照…"),
        "quality.failed": _t("照片不合格：{reasons}"),
        "camera.unavailable": _t("未找到摄像头：请检查摄像头是否连接好，或点击“从文件导入”选择照片"),
        "source.not_found": _t("找不到视频来源，请点击“从文件导入”选择照片"),
        "source.unreadable": _t("无法读取视频来源，请点击“从文件导入”选择照片"),
        "image.empty": _t("所选文件是空的"),
        "image.unreadable": _t("所选文件不是可识别的图片"),
        "image.too_large": _t("图片太大，请换一张较小的照片"),
        "template.invalid": _t("人脸特征数据无效，请重新拍照"),
        "model.unavailable": _t("缺少人脸识别模型文件，请重新安装本软件"),
        "card_photo.head_out_of_frame": _t("头部不完整：请让头顶、下巴和两耳都在画面内，可以离镜头远一点"),
        "card_photo.size_window": _t("无法生成符合文件大小要求的证件照，请换一张照片"),
        "settings.invalid": _t("照片检查的配置文件有误，请联系管理员（resources/capture）"),
        "face.invalid": _t("人脸信息格式不正确，请重新拍照"),
        "face.template_missing": _t("缺少人脸特征，请重新拍照"),
        "face.info_missing": _t("缺少人脸特征的模型信息，请重新拍照"),
        "attachment.duplicate_kind": _t("同一类附件只能有一个"),
        "duplicate_review.invalid": _t("人脸相似核查记录无效，请重新保存"),
        "duplicate_review.decision_invalid": _t("人脸相似核查的结论无效，请重新选择"),
        "duplicate_review.reason_missing": _t("请填写核查说明（为什么判断为同一人或不是同一人）"),
        "duplicate_review.reason_too_long": _t("核查说明不能超过{max}个字"),
        "photo.file_unreadable": _t("无法读取照片文件"),
        # central review (docs/review-api.md; the central workspace)
        "review.state_invalid": _t("该记录当前的审核状态不允许这样处理（可能已被他人处理），已重新读取"),
        "review.version_stale": _t("该记录已有新版本，您看到的不是最新内容，已重新读取，请重新核对后再决定"),
        "review.reason_required": _t("驳回或退回必须填写理由"),
        "review.reason_too_long": _t("理由太长：最多200个字"),
        "review.password_required": _t("请再次输入您的登录密码"),
        "review.action_invalid": _t("无效的审核操作"),
        # separation of duties
        "record.push_cadre_only": _t("只有本村的村级登记员可以上传登记记录，审核人员和管理员的账号不能上传"),
        "review.own_record": _t("您登记或修改过这条记录，不能由您审核；请交给其他审核人员"),
        "review.approver_issues_card": _t("这条记录是您审核通过的，发卡须由另一位工作人员登记"),
        "record.unknown": _t("登记中心没有这条记录"),
        "central.offline": _t("审核工作台需要联网：请确认能连接登记中心后再登录"),
        "review.checks_unavailable": _t("登记中心当前没有运行自动比对"),
        "verify.token_unknown": _t("核验链接无效或已失效，请联系村干部重新发送"),
        "verify.resident_unknown": _t("本村花名册和登记记录中都没有此身份证号，不能发起远程核验"),
        "verify.expired": _t("核验链接已过期，请联系村干部重新发送"),
        "verify.used_up": _t("此核验已完成或次数已用完，请联系村干部安排上门或人工核验"),
        "verify.id_mismatch": _t("身份证号后6位不正确，请核对后重新输入"),
        "verify.consent_required": _t("请先阅读并同意个人信息（人脸）采集说明"),
        "verify.session_invalid": _t("页面已超时，请重新输入身份证号后6位"),
        "verify.attempt_closed": _t("本次核验已结束或超时，请重新开始"),
        "verify.nonce_mismatch": _t("上传的画面与本次核验不符，请重新开始"),
        "verify.upload_too_large": _t("上传的画面过大，请重新开始"),
        "verify.too_many_frames": _t("上传的画面过多，请重新开始"),
        "verify.rate_limited": _t("尝试次数过多，请{retry_after}秒后再试"),
        "verify.engine_unavailable": _t("登记中心暂时无法进行人脸核验，请稍后再试"),
        "verify.clip_missing": _t("核验视频还没有上传到登记中心，请同步后再试"),
        "video.unreadable": _t("无法读取这个视频文件，请让对方重新录制并发送（常见格式如 MP4）"),
        "video.too_short": _t("视频太短：至少需要3秒，请让对方按提示重新录一段10秒左右的视频"),
        "video.too_long": _t("视频太长：最多60秒，请让对方重新录一段10秒左右的视频"),
        "checks.config_invalid": _t("自动比对的阈值配置文件有误，请联系管理员（resources/review/checks.json）"),
        "audit.text_unknown": _t("审计记录中没有这段文字（请核对哈希值）"),
        "audit.text_already_redacted": _t("这段文字已经依法删除"),
        "review.weights_invalid": _t("相似度权重配置文件有误，请联系管理员（resources/review）"),
        "warnings.limits_invalid": _t("预警时限配置文件有误，请联系管理员（resources/review）"),
        "report.font_missing": _t("登记中心缺少中文字体，无法生成PDF报告（请安装 fonts-wqy-zenhei）；可先导出CSV"),
        "rules.invalid": _t("比对规则文件有误（规则 {rule}），请联系管理员（resources/rules）"),
        "rules.unreadable": _t("无法读取比对规则文件，请联系管理员（resources/rules）"),
        "dataset.unreadable": _t("文件不是有效的Excel工作簿（.xlsx）"),
        "dataset.id_number_numeric": _t("身份证号被Excel存成了数字（会丢失位数），请把该列设为文本后重新导入"),
        "dataset.photo_no_face": _t("参考照片里找不到人脸"),
        "dataset.photo_many_faces": _t("参考照片里有多张人脸"),
        "dataset.photo_unreadable": _t("无法读取参考照片"),
        "dataset.photo_id_repeated": _t("同一身份证号只能有一张参考照片"),
        "subsidies.unknown": _t("未知的补贴项目代码：{item}"),
        "subsidies.invalid": _t("补贴项目格式不正确"),
        # the laptop's offline video path (desktop/verification/video_dialog.py, field verify-video)
        "video.file_not_found": _t("找不到这个视频文件"),
        "video.no_request": _t("本机没有此居民可用的远程核验请求（含视频核验的数字和动作）：请先发起远程核验并同步"),
        "video.too_large": _t("视频文件太大（最多{max_mb}MB），请让本人重新录一段10秒左右的视频"),
        # roster and dataset files (enrollment.roster_csv, the registry's dataset import)
        "csv.encoding": _t("文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件"),
        "csv.empty": _t("文件是空的，没有任何数据行"),
        "csv.columns_missing": _t("文件缺少必需的列：{columns}"),
        "csv.columns_extra": _t("文件中有无法识别的列：{columns}"),
        "csv.row_length": _t("某一行的列数不对（应为{expected}列，实际{got}列）"),
        "csv.duplicate_id_number": _t("同一身份证号在文件中出现了两次（第一次在第{first_line}行）"),
        "csv.rows_invalid": _t("文件中有{count}行数据不正确，请逐行核对"),
        "dataset.kind_unknown": _t("未知的比对数据类型：{kind}"),
        "dataset.format_unsupported": _t("不支持的文件格式：请把表格另存为 XLSX 或 CSV（UTF-8 或 GBK）"),
        "dataset.encoding": _t("比对数据文件编码无法识别：请另存为 UTF-8 或 GBK 编码"),
        "dataset.empty": _t("比对数据文件是空的"),
        "dataset.columns": _t("比对数据文件的列不对：缺少 {missing}；多出 {extra}"),
        "dataset.rows_invalid": _t("比对数据中有{count}行不正确，请逐行核对"),
        "dataset.row_length": _t("比对数据某一行的列数不对（应为{expected}列，实际{got}列）"),
        "dataset.duplicate_row": _t("比对数据中有重复的行（第一次在第{first_line}行）"),
        "dataset.value_empty": _t("比对数据中有必填的格子是空的"),
        "dataset.date": _t("日期格式应为 年-月-日，例如 2020-05-01"),
        "dataset.enum": _t("填写的值不在允许的范围内：{allowed}"),
        "dataset.number": _t("应填写数字"),
        "dataset.year": _t("年份应为4位数字"),
        "dataset.credit_code": _t("统一社会信用代码应为18位（数字和大写字母）"),
        "dataset.photo_missing": _t("缺少参考照片文件"),
        # operator accounts (the registry's administration)
        "operator.username_invalid": _t("用户名格式不正确"),
        "operator.username_taken": _t("该用户名已被使用"),
        "operator.role_invalid": _t("账号角色无效"),
        "operator.village_required": _t("村干部账号必须分配至少一个村"),
        "operator.password_too_short": _t("密码太短：至少{min}位"),
        "operator.unknown": _t("没有这个用户名的账号"),
        # the laptop itself
        "store.unavailable": _t("无法打开本机数据文件"),
        "store.closed": _t("本机数据文件已关闭"),
        "store.too_new": _t("本机数据文件是由更新版本的软件写入的，请升级本软件后再打开（数据未被改动）"),
        "file.unreadable": _t("无法读取所选文件"),
        # the residents' self-query page and the public notice (issue 13)
        "selfquery.rate_limited": _t("查询次数太多，请{retry_after}秒后再试"),
        "selfquery.code_wrong": _t("验证码不正确，还可以再试{tries_left}次"),
        "selfquery.code_dead": _t("验证码输错次数太多，已经失效，请重新获取验证码"),
        "selfquery.code_expired": _t("验证码已过期或已使用，请重新获取验证码"),
        "notice.village_unknown": _t("登记中心没有这个村（村代码 {village}）"),
        "notice.period_invalid": _t("期次应为6位年月，例如 201906"),
        "notice.format_unknown": _t("公示文件应保存为 .csv 或 .pdf"),
        # the SMS outbox (registry sms …, issue 13)
        "sms.no_phone": _t("没有可用的手机号（花名册和登记记录中都没有），短信未发送"),
        "sms.not_configured": _t("短信网关未配置：请设置 YIKATONG_SMS_GATEWAY 及其参数"),
        "sms.sdk_missing": _t("所选短信网关的软件包未安装（{package}），请安装后再发送"),
        "sms.templates_invalid": _t("短信模板文件有误，请联系管理员（resources/sms/templates.json）"),
        "sms.timeout": _t("短信网关没有及时应答，稍后会自动重发"),
        "sms.unreachable": _t("无法连接短信网关，稍后会自动重发"),
        "sms.gateway_error": _t("短信网关出错，稍后会自动重发"),
        "sms.rate_limited": _t("短信发送过于频繁，稍后会自动重发"),
        "sms.gateway_auth": _t("短信网关拒绝了账号密钥，请管理员检查短信网关设置"),
        "sms.account": _t("短信账户已停用或余额不足，请管理员处理"),
        "sms.refused": _t("短信网关拒绝发送这条短信"),
        "sms.phone_invalid": _t("手机号无效，短信未发送"),
        "sms.phone_blocked": _t("该手机号已退订或在免打扰名单中，短信未发送"),
        "sms.template_invalid": _t("短信模板或签名未通过审核，或模板变量不符，请管理员处理"),
        "sms.receipt_invalid": _t("短信回执的格式不对，未记录"),
        "sms.receipt_unauthorized": _t("短信回执推送的密钥不对，未记录：请核对短信网关的回执地址设置"),
        # payments: batches, bank files, the bank's results (issue 13; docs/payments/batches-and-bank-files.md)
        "payments.period_invalid": _t("发放期别应为6位年月，例如 202612"),
        "payments.township_invalid": _t("乡镇代码应为村代码的前9位数字"),
        "payments.nothing_to_batch": _t("没有可以发放的名单行（该项目、期别没有待发放的记录）"),
        "payments.line_conflict": _t("有名单行刚被另一个批次占用，本批次未生成，请重新生成"),
        "payments.card_not_active": _t("此人没有已激活的社保卡，本次不发放（名单行保留待发放）"),
        "payments.card_name_mismatch": _t("社保卡户名与名单姓名不一致，本次不发放（名单行保留待发放）"),
        "payments.already_open": _t("此人本项目本期已在发放中或已发放，不重复发放"),
        "payments.awaiting_card_fix": _t("上次银行退回，须先更正社保卡信息后才能再次发放"),
        "payments.batch_unknown": _t("没有这个发放批次"),
        "payments.batch_state": _t("该批次当前状态（{state}）不允许这一步操作"),
        "payments.approver_is_creator": _t("批次须由生成人以外的另一位工作人员审批"),
        "payments.export_mismatch": _t("重新导出的银行文件与第一次发给银行的文件不一致（编码、格式或卡信息已变），已拒绝"),
        "payments.export_encoding": _t("有姓名无法用 {encoding} 编码写入银行文件，请改用 UTF-8 或与银行确认"),
        "payments.bank_file_invalid": _t("银行代发文件格式配置有误，请联系管理员（resources/payments/bank_file.json）"),
        "payments.bank_reasons_invalid": _t("银行退回原因配置有误，请联系管理员（resources/payments/bank_reasons.json）"),
        "payments.results_already_imported": _t("这个回盘文件已经导入过，未作任何改动"),
        "payments.line_unknown": _t("没有这个业务参考号的发放记录"),
        "payments.line_state": _t("只有已到账的发放记录可以冲正（当前：{state}）"),
        "payments.reason_required": _t("冲正必须填写原因（最多200个字）"),
        "payments.file_unreadable": _t("无法读取回盘文件"),
        "payments.file_unwritable": _t("无法在该位置写入银行文件"),
        "result.reference_unknown": _t("回盘中的业务参考号在登记中心找不到"),
        "result.amount_mismatch": _t("回盘金额与发放金额不一致"),
        "result.amount_invalid": _t("回盘中的金额格式不正确"),
        "result.duplicate_line": _t("回盘中同一业务参考号出现了两次（第一次在第{first_line}行）"),
        "result.batch_not_exported": _t("该发放记录所在批次尚未导出给银行"),
        "result.status_invalid": _t("回盘状态只能是“成功”或“失败”"),
        "result.line_settled": _t("该发放记录已有银行结果（之前的回盘已导入）"),
        "result.row_length": _t("回盘某一行的列数不对（应为{expected}列，实际{got}列）"),
        # payments: the card bank's files and the departments' payment rosters (issue 13)
        "amount.invalid": _t("金额应为以元为单位、最多两位小数的正数，例如 90 或 90.50"),
        "card.encoding": _t("社保卡文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件"),
        "card.empty": _t("社保卡文件是空的，没有任何数据行"),
        "card.columns": _t("社保卡文件的列不对：应为 id_number,name,card_number,bank_account,bank,status,date"),
        "card.rows_invalid": _t("社保卡文件中有{count}处错误，整个文件未导入，请逐行核对"),
        "card.row_length": _t("社保卡文件某一行的列数不对（应为{expected}列，实际{got}列）"),
        "card.value_empty": _t("社保卡文件中有必填的格子是空的"),
        "card.number": _t("社保卡卡号应为9到19位数字或大写字母"),
        "card.account": _t("银行账号应为8到40位数字或大写字母"),
        "card.status": _t("卡状态应为 已制卡、已激活、已挂失 或 已注销"),
        "card.date": _t("日期格式应为 年-月-日，例如 2026-05-01"),
        "card.number_repeated": _t("同一卡号在文件中出现了两次（第一次在第{first_line}行）"),
        "card.number_other_person": _t("卡号{card}已登记在另一个身份证号下"),
        "review.card_missing": _t("该居民还没有已制卡或已激活的社保卡，不能登记发卡：请先导入制卡结果"),
        "entitlement.encoding": _t("发放名册编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件"),
        "entitlement.empty": _t("发放名册是空的，没有任何数据行"),
        "entitlement.columns": _t("发放名册的列不对：应为 id_number,name,item,period,amount"),
        "entitlement.department": _t("请填写发放部门名称（最多64个字）"),
        "entitlement.all_lines_refused": _t("发放名册的{count}行全部有误，整个文件未导入，请核对是否选错了文件"),
        "entitlement.row_length": _t("发放名册某一行的列数不对（应为{expected}列，实际{got}列）"),
        "entitlement.name_empty": _t("发放名册中有一行没有填写姓名"),
        "entitlement.item_unknown": _t("补贴项目代码{item}不在补贴目录中"),
        "entitlement.period": _t("发放期次应为6位年月，例如 202612"),
        "entitlement.line_repeated": _t("同一人、同一项目、同一期次在名册中出现了两次（第一次在第{first_line}行）"),
        "entitlement.unknown": _t("没有这条发放记录"),
        "entitlement.state_invalid": _t("只有已拦截的发放记录才能放行或不予发放（当前状态：{state}）"),
        "entitlement.duplicate_open": _t("同一人同一项目同一期次已有待发放或已发放的记录，不能再放行"),
        "payments.result_import_unknown": _t("没有这次回盘导入记录"),
    }


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _format(template: str, data: dict[str, Any]) -> str:
    flat = {k: ("、".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in (data or {}).items()}
    try:
        return string.Formatter().vformat(template, (), _SafeDict(flat))
    except (ValueError, IndexError, KeyError):
        return template


def template_for(code: str) -> str | None:
    """The wording of one code with its ``{placeholders}`` unfilled (docs/error-codes.md), or None."""
    return _messages().get(code)


def message_for(code: str, data: dict[str, Any] | None = None) -> str:
    """The wording of one code (with its data), or the generic sentence naming it."""
    data = dict(data or {})
    if code == "protocol.unsupported_version":
        # the registry may name the accepted range under several keys
        data.setdefault("min_version", data.get("min") or data.get("minimum") or data.get("min_version"))
        data.setdefault("max_version", data.get("max") or data.get("maximum") or data.get("max_version"))
    if code == "quality.failed" and "reasons" not in data:
        seen: list[str] = []
        for failed in data.get("failed") or []:
            text = _messages().get(str(failed)) or str(failed)
            if text not in seen:
                seen.append(text)
        data["reasons"] = "；".join(seen)
    if code == "attachment.too_large" and "max_mb" not in data and isinstance(data.get("max"), int):
        data["max_mb"] = data["max"] // (1024 * 1024)
    template = _messages().get(code)
    if template is None:
        if code.startswith("network."):
            template = _messages()["network.unreachable"]
        else:
            return _t("操作未能完成（错误代码：{code}）").format(code=code)
    return _format(template, data)


def code_of(error: BaseException | str) -> str:
    """The stable code of an error, from its type and kind (never its text).

    An ``Unavailable`` gets ``network.<kind>``, unless the registry said more in its own error shape
    (a 503 ``review.checks_unavailable``): then that code, if it has wording.
    """
    if isinstance(error, str):
        return error
    if isinstance(error, Unavailable):
        registry_code = getattr(error, "registry_code", None)
        if isinstance(registry_code, str) and registry_code in _messages():
            return registry_code
        return error.kind.code
    if isinstance(error, YikatongError):
        return error.code
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        return code
    name = type(error).__name__
    if isinstance(error, (ConnectionError, TimeoutError)):
        return error_codes.NETWORK_TIMEOUT if isinstance(error, TimeoutError) else error_codes.NETWORK_UNREACHABLE
    if isinstance(error, OSError):
        return "file.unreadable"
    return f"internal.{name}"


def field_errors(error: BaseException) -> dict[str, list[str]]:
    """field -> sentences, for showing a ValidationErrors at each field of a form."""
    out: dict[str, list[str]] = {}
    for e in getattr(error, "errors", None) or [error]:
        out.setdefault(getattr(e, "field", None) or "", []).append(describe(e))
    return out


def describe(error: BaseException | str) -> str:
    """One Chinese sentence (several, for ValidationErrors) for any error the app can meet."""
    if isinstance(error, str):
        return message_for(error)
    subs = getattr(error, "errors", None)
    if isinstance(subs, list) and subs and all(hasattr(e, "code") for e in subs):
        seen: list[str] = []
        for e in subs:
            text = describe(e)
            if text not in seen:
                seen.append(text)
        return "；".join(seen)
    code = code_of(error)
    if code.startswith("internal."):
        return _t("发生意外错误（{kind}），请重试；如反复出现请联系管理员").format(kind=type(error).__name__)
    data = getattr(error, "data", None)
    return message_for(code, data if isinstance(data, dict) else None)


def guidance_text(code: str | None) -> str:
    """The one live guidance line of the capture dialog for a quality code (None: every check passes)."""
    return message_for(code or "capture.hold_still")


def show_error(parent, error: BaseException | str, title: str | None = None):
    """Show an error in a window-modal message box that does not block the event loop."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, title or _t("出错了"), describe(error),
                      QMessageBox.StandardButton.Ok, parent)
    code = code_of(error)
    if not code.startswith("internal."):
        box.setInformativeText(_t("错误代码：{code}").format(code=code))
    box.setObjectName("errorBox")
    box.open()
    return box
