"""The side-by-side warning when a new face looks like someone already enrolled on this laptop.

"此人脸与 张三 5109**********1234 相似": both card photos next to each other; the cadre must decide
(不是同一人 / 是同一人) and type a reason. The decision becomes one ``duplicate_review`` entry of the
record's payload (``sync.duplicates.LocalMatch.review``), so it travels to central review.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from enrollment.errors import mask_id_number
from enrollment.records import DIFFERENT_PERSON, REASON_MAX, SAME_PERSON_OTHER_ID

PHOTO_SIZE = QSize(179, 221)   # half the card photo


def _photo(jpeg: bytes | None, caption: str, name: str) -> QWidget:
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    pic = QLabel()
    pic.setObjectName(name)
    pic.setFixedSize(PHOTO_SIZE)
    pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
    pic.setStyleSheet("border: 1px solid #999; background: #fafafa; color: #777;")
    pix = QPixmap()
    if jpeg and pix.loadFromData(jpeg):
        pic.setPixmap(pix.scaled(PHOTO_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation))
    else:
        pic.setText(QCoreApplication.translate("DuplicateFaceDialog", "本机没有此人的照片"))
    cap = QLabel(caption)
    cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
    cap.setWordWrap(True)
    v.addWidget(pic, 0, Qt.AlignmentFlag.AlignHCenter)
    v.addWidget(cap)
    return box


class DuplicateFaceDialog(QDialog):
    """Ask the cadre about one likely duplicate; ``decision()``/``reason()`` after Accepted."""

    def __init__(self, match: Any, their_photo: bytes | None, our_photo: bytes | None, our_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicateDialog")
        self.setWindowTitle(self.tr("可能重复登记"))
        self.match = match
        masked = mask_id_number(match.id_number)
        self.headline = QLabel(self.tr("此人脸与 {name} {id} 相似").format(name=match.name or self.tr("（未填姓名）"),
                                                                      id=masked))
        self.headline.setObjectName("duplicateHeadline")
        self.headline.setStyleSheet("font-size: 14pt; font-weight: bold; color: #b71c1c;")
        self.headline.setWordWrap(True)
        hint = QLabel(self.tr("同一个人不能用两个身份证号码登记。请核对本人证件后选择（相似度距离 {d:.2f}，"
                              "越小越像）。").format(d=match.distance))
        hint.setWordWrap(True)
        pair = QHBoxLayout()
        pair.addWidget(_photo(their_photo, self.tr("已登记：{name}\n{id}").format(name=match.name, id=masked),
                              "theirPhoto"))
        pair.addSpacing(12)
        pair.addWidget(_photo(our_photo, self.tr("本次登记：{name}").format(name=our_name or self.tr("（未填姓名）")),
                              "ourPhoto"))

        self.different = QRadioButton(self.tr("不是同一人"))
        self.different.setObjectName("differentPerson")
        self.same = QRadioButton(self.tr("是同一人"))
        self.same.setObjectName("samePerson")
        group = QButtonGroup(self)
        group.addButton(self.different)
        group.addButton(self.same)
        choices = QHBoxLayout()
        choices.addWidget(self.different)
        choices.addWidget(self.same)
        choices.addStretch(1)
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("duplicateReason")
        self.reason_edit.setMaxLength(REASON_MAX)
        self.reason_edit.setPlaceholderText(self.tr("核查说明（必填），如：已核对身份证和户口簿，是双胞胎兄弟"))
        self.ok_button = QPushButton(self.tr("确认并保存"))
        self.ok_button.setObjectName("duplicateOk")
        self.ok_button.setEnabled(False)
        self.ok_button.clicked.connect(self.accept)
        cancel = QPushButton(self.tr("暂不保存"))
        cancel.setObjectName("duplicateCancel")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.ok_button)

        v = QVBoxLayout(self)
        v.addWidget(self.headline)
        v.addWidget(hint)
        v.addLayout(pair)
        v.addLayout(choices)
        v.addWidget(self.reason_edit)
        v.addLayout(buttons)
        for w in (self.different, self.same):
            w.toggled.connect(self._update)
        self.reason_edit.textChanged.connect(self._update)

    def _update(self, *_: object) -> None:
        self.ok_button.setEnabled((self.different.isChecked() or self.same.isChecked())
                                  and bool(self.reason_edit.text().strip()))

    def decision(self) -> str:
        return SAME_PERSON_OTHER_ID if self.same.isChecked() else DIFFERENT_PERSON

    def reason(self) -> str:
        return self.reason_edit.text().strip()

    def review(self) -> dict[str, Any]:
        """The payload's duplicate_review entry for this decision."""
        return self.match.review(self.decision(), self.reason(), "cadre")
