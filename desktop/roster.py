"""Village roster: households → members, with search-as-you-type.

The search box is debounced (150 ms) and the query runs on the store thread
(``store.search_residents``: name, pinyin initials, full pinyin, ID number); answers that
arrive after a newer query was sent are dropped, so the tree never flickers back.

The 审核结果 column is the registry's review of the member's record as of the last sync (已退回 with
its reason, 已批准, …); a returned member's row is highlighted: clicking it opens the record in the
form with the reason at the top. The 远程核验 column is the member's latest remote verification request
as last pulled (核验通过（日期）, 视频核验通过（弱于现场活体核验）, 需上门或人工核验, …; the reasons in its
tooltip), and the laptop's own video check while it waits for a sync (视频核验已记录，待同步发送).
视频核验 opens the offline video path for a member whose request still takes a video (no network needed).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from enrollment import relations
from sync.verification_ops import takes_video

from .errors import describe
from .review_labels import RETURNED, RETURNED_BACKGROUND, review_colour, review_summary
from .store_worker import StoreOwner
from .ui import STATE_COLOURS, relation_name, state_name
from .verification.labels import (
    reason_text,
    summary_samples,
    verification_colour,
    verification_details,
    verification_summary,
    video_check_summary,
)

SEARCH_DEBOUNCE_MS = 150
RESIDENT_ROLE = Qt.ItemDataRole.UserRole + 1
VERIFICATION_COLUMN = 5
CELL_PADDING = 24   # the cell's margins on both sides and the header's divider, with room to spare


class RosterView(QWidget):
    # Python objects travel as ``object``: a ``dict`` signature or a dict in an item role is
    # converted to a QVariantMap and back, which in PySide6 mis-counts references to bools.
    member_selected = Signal(object)
    verification_requested = Signal(object)   # the selected member (发起远程核验)
    mark_away_requested = Signal(object)      # the selected member (标记外出务工)
    video_check_requested = Signal(object)    # the selected member (视频核验)
    new_enrollment = Signal()
    loaded = Signal(int)  # number of members shown

    def __init__(self, owner: StoreOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.village_code: str | None = None
        self._seq = 0
        self._shown_seq = 0
        self._residents: list[dict[str, Any]] = []   # row data; items hold an index into it

        self.village_combo = QComboBox()
        self.village_combo.setObjectName("villageCombo")
        self.village_combo.currentIndexChanged.connect(self._village_changed)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("rosterSearch")
        self.search_edit.setPlaceholderText(self.tr("搜索：姓名、拼音首字母或身份证号"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._schedule_search)
        self.new_button = QPushButton(self.tr("新登记"))
        self.new_button.setObjectName("newEnrollment")
        self.new_button.setToolTip(self.tr("为花名册以外的居民新建登记"))
        self.new_button.clicked.connect(self.new_enrollment)
        self.verify_button = QPushButton(self.tr("发起远程核验"))
        self.verify_button.setObjectName("requestVerification")
        self.verify_button.setToolTip(self.tr("为外出务工的居民生成核验链接（需要联网）"))
        self.verify_button.setEnabled(False)
        self.verify_button.clicked.connect(self._request_verification)
        self.away_button = QPushButton(self.tr("标记外出务工"))
        self.away_button.setObjectName("markAway")
        self.away_button.setToolTip(self.tr("记下外出务工的城市（保存为登记记录的新版本），联网时接着发起远程核验"))
        self.away_button.setEnabled(False)
        self.away_button.clicked.connect(self._mark_away)
        self.video_button = QPushButton(self.tr("视频核验"))
        self.video_button.setObjectName("videoCheck")
        self.video_button.setToolTip(self.tr("本人打不开链接时：导入本人发来的视频，在本机检查并记录（不需要联网）"))
        self.video_button.setEnabled(False)
        self.video_button.clicked.connect(self._video_check)
        self._online = False
        self._selected: dict[str, Any] | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("村")))
        top.addWidget(self.village_combo, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.verify_button)
        top.addWidget(self.away_button)
        top.addWidget(self.video_button)

        self.tree = QTreeWidget()
        self.tree.setObjectName("rosterTree")
        self.tree.setHeaderLabels([self.tr("姓名"), self.tr("身份证号码"), self.tr("关系"), self.tr("登记状态"),
                                   self.tr("审核结果"), self.tr("远程核验")])
        self.tree.setAlternatingRowColors(True)
        # A long 审核结果 (a return's reason) wraps in its column where the row has room; whole on hover too.
        self.tree.setWordWrap(True)
        self.tree.setItemDelegateForColumn(4, _WrappingDelegate(self.tree))
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)   # the room left, for the reason
        # rows take their height from the column's new width (Qt keeps the old layout otherwise)
        header.sectionResized.connect(lambda index, *_: index == 4 and self.tree.doItemsLayout())
        _fit_verification_column(self.tree)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)

        self.count_label = QLabel()
        self.count_label.setObjectName("rosterCount")
        self.count_label.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.count_label)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)

    def set_villages(self, villages: list[dict[str, Any]]) -> None:
        self.village_combo.blockSignals(True)
        self.village_combo.clear()
        for v in villages:
            name = v.get("name") or ""
            self.village_combo.addItem(f"{name} {v['code']}".strip(), v["code"])
        self.village_combo.blockSignals(False)
        self.village_code = villages[0]["code"] if villages else None
        self.refresh()

    @Slot(int)
    def _village_changed(self, index: int) -> None:
        self.village_code = self.village_combo.itemData(index)
        self.refresh()

    @Slot()
    def _schedule_search(self) -> None:
        self._debounce.start()

    @Slot()
    def refresh(self) -> None:
        """Reload what the box asks for (the whole village when it is empty)."""
        self._debounce.stop()
        query = self.search_edit.text().strip()
        village = self.village_code
        self._seq += 1
        seq = self._seq
        if query:
            def fn(store):
                groups = _group(store.search_residents(query, village_code=village))
                heads = store.household_heads(village, [g["household_id"] for g in groups])
                for g in groups:
                    g["head_name"] = heads.get(g["household_id"]) or g["head_name"]
                return _with_verifications(store, groups)
        else:
            def fn(store):
                return _with_verifications(store, store.households(village) if village else [])
        (self.owner.op(fn).success(lambda households: self._show(seq, query, households))
         .failure(self._failed).run())

    def _failed(self, error: BaseException) -> None:
        self.count_label.setText(describe(error))

    def _show(self, seq: int, query: str, households: list[dict[str, Any]]) -> None:
        if seq < self._seq:
            return  # a newer query is on its way
        self._shown_seq = seq
        self.tree.clear()
        self._residents = []
        members = 0
        for hh in households:
            people = hh.get("members") or []
            members += len(people)
            head = hh.get("head_name") or (people[0]["name"] if people else "")
            top = QTreeWidgetItem([self.tr("{head}家（户号 {hh}，{n}人）").format(
                head=head, hh=hh.get("household_id", ""), n=len(people)), "", "", "", "", ""])
            top.setFirstColumnSpanned(True)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for r in people:
                state = r.get("enrollment_state")
                review = {"state": r.get("review_state"), "reason": r.get("review_reason")}
                item = QTreeWidgetItem([r.get("name", ""), r.get("id_number", ""), relation_name(r.get("relation")),
                                        state_name(state), review_summary(review),
                                        verification_summary(r.get("verification"))])
                item.setData(0, RESIDENT_ROLE, len(self._residents))
                self._residents.append(r)
                item.setForeground(3, QBrush(QColor(STATE_COLOURS.get(state, "#666666"))))
                if review["state"]:
                    item.setForeground(4, QBrush(QColor(review_colour(review["state"]))))
                    item.setToolTip(4, item.text(4))
                verification = r.get("verification")
                if verification:
                    item.setForeground(5, QBrush(QColor(verification_colour(verification["state"]))))
                    item.setToolTip(5, verification_details(verification))
                waiting = video_check_summary(r.get("video_check"))
                if waiting:
                    check = r["video_check"]
                    item.setText(5, waiting)
                    tip = [waiting]
                    if check.get("error_code"):
                        tip.append(self.tr("原因：{reason}").format(reason=describe(check["error_code"])))
                    if check.get("local_reasons"):
                        tip.append(self.tr("本机检查：{reasons}").format(
                            reasons="；".join(reason_text(x) for x in check["local_reasons"])))
                    item.setToolTip(5, "\n".join(tip))
                if review["state"] == RETURNED:
                    for col in range(self.tree.columnCount()):
                        item.setBackground(col, QBrush(QColor(RETURNED_BACKGROUND)))
                top.addChild(item)
            self.tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
        self.tree.expandAll()
        self._keep_selection()
        if query:
            self.count_label.setText(self.tr("找到 {n} 人").format(n=members))
        elif members:
            self.count_label.setText(self.tr("共 {h} 户，{n} 人").format(h=len(households), n=members))
        else:
            self.count_label.setText(self.tr("花名册为空：请联网后点“同步”下载本村花名册"))
        self.loaded.emit(members)

    def _keep_selection(self) -> None:
        """After a refresh (a sync pulled a request, a check was recorded) the chosen member stays chosen with
        their fresh row, so the buttons follow the new state; the form is not reloaded (no signal): it may hold
        the cadre's unsaved edits."""
        chosen = (self._selected or {}).get("id_number")
        self._selected = None
        if chosen:
            for index, resident in enumerate(self._residents):
                if resident.get("id_number") == chosen:
                    self._selected = dict(resident)
                    item = self._item_for(index)
                    if item is not None:
                        blocked = self.tree.blockSignals(True)
                        self.tree.setCurrentItem(item)
                        self.tree.blockSignals(blocked)
                    break
        self._update_verify_button()

    def _item_for(self, index: int) -> QTreeWidgetItem | None:
        for top in range(self.tree.topLevelItemCount()):
            household = self.tree.topLevelItem(top)
            for child in range(household.childCount()):
                if household.child(child).data(0, RESIDENT_ROLE) == index:
                    return household.child(child)
        return None

    def shown_residents(self) -> list[dict[str, Any]]:
        return list(self._residents)

    def is_current(self) -> bool:
        """True when the tree shows the answer to the latest query."""
        return self._shown_seq == self._seq and not self._debounce.isActive()

    @Slot(QTreeWidgetItem, int)
    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        index = item.data(0, RESIDENT_ROLE)
        if isinstance(index, int) and 0 <= index < len(self._residents):
            self._selected = dict(self._residents[index])
            self._update_verify_button()
            self.member_selected.emit(dict(self._residents[index]))

    def set_online(self, online: int | bool) -> None:
        """发起远程核验 asks the registry at once: enabled only online, with a member chosen."""
        self._online = bool(online)
        self._update_verify_button()

    def _update_verify_button(self) -> None:
        self.verify_button.setEnabled(self._online and self._selected is not None)
        self.away_button.setEnabled(self._selected is not None)   # offline too: the request waits
        verification = (self._selected or {}).get("verification")
        self.video_button.setEnabled(bool(verification) and takes_video(verification))

    @Slot()
    def _video_check(self) -> None:
        if self._selected is not None:
            self.video_check_requested.emit(dict(self._selected))

    @Slot()
    def _request_verification(self) -> None:
        if self._selected is not None:
            self.verification_requested.emit(dict(self._selected))

    @Slot()
    def _mark_away(self) -> None:
        if self._selected is not None:
            self.mark_away_requested.emit(dict(self._selected))


def _fit_verification_column(tree: QTreeWidget) -> None:
    """The 远程核验 column as wide as its longest possible line (a passed check with its day, a link with its
    expiry): never cut to 已发送链接（2026-1… in a narrow window; the tree scrolls sideways instead."""
    metrics = tree.fontMetrics()
    widest = max(metrics.horizontalAdvance(text) for text in [tree.headerItem().text(VERIFICATION_COLUMN),
                                                             *summary_samples()])
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(VERIFICATION_COLUMN, QHeaderView.ResizeMode.Fixed)
    header.resizeSection(VERIFICATION_COLUMN, widest + CELL_PADDING)


def _with_verifications(store: Any, households: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each member with their latest remote verification request as last pulled and the laptop's latest video
    check (or None); on the store thread."""
    ids = [r["id_number"] for hh in households for r in hh.get("members") or []]
    latest = store.latest_verifications(ids) if ids else {}
    checks = store.latest_video_checks(ids) if ids else {}
    for hh in households:
        for r in hh.get("members") or []:
            r["verification"] = latest.get(r["id_number"])
            r["video_check"] = checks.get(r["id_number"])
    return households


class _WrappingDelegate(QStyledItemDelegate):
    """A cell as tall as its text wrapped to the column's width (QTreeView alone keeps one line)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        tree = self.parent()
        width = max(tree.header().sectionSize(index.column()) - 8, 10) if isinstance(tree, QTreeWidget) else 10
        text = str(index.data() or "")
        lines = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, text)
        return QSize(size.width(), max(size.height(), lines.height() + 4))


def _group(residents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search hits as households, in the order their first member was found."""
    groups: dict[str, dict[str, Any]] = {}
    for r in residents:
        hh = groups.setdefault(r.get("household_id") or "", {"household_id": r.get("household_id") or "",
                                                               "head_name": "", "members": []})
        hh["members"].append(r)
        if relations.is_head(r.get("relation")):
            hh["head_name"] = r.get("name", "")
    return list(groups.values())
