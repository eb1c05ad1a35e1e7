"""The stable error codes that cross a boundary: registry ↔ laptop, sync client ↔ desktop, CLI.

Each code is defined here once; ``sync.protocol``'s ``E_*`` names, the registry, the sync
client, the desktop and the CLI import them from here. Codes that belong to one rule of the
domain (``id_number.*``, ``name.*``, ``csv.*`` ...) stay next to that rule in ``enrollment``,
capture's in ``capture/errors.py``. Codes are part of the protocol: never rename one (a laptop
in the field and the registry may be different releases).
"""

from __future__ import annotations

# --- requests the registry refuses as a whole
PROTOCOL_UNSUPPORTED = "protocol.unsupported_version"
MALFORMED_JSON = "request.malformed_json"
INVALID = "request.invalid"
TOO_LARGE = "request.too_large"
NOT_FOUND = "request.not_found"
METHOD_NOT_ALLOWED = "request.method_not_allowed"
# ?at= names a moment too far in the past or future to evaluate (the years 1 or 9999)
MOMENT_OUT_OF_RANGE = "request.moment_out_of_range"

# --- sessions
AUTH_MISSING = "auth.missing"
AUTH_INVALID = "auth.invalid_token"
AUTH_EXPIRED = "auth.token_expired"
BAD_CREDENTIALS = "auth.bad_credentials"
FORBIDDEN = "auth.forbidden"
OPERATOR_DISABLED = "auth.operator_disabled"
AUTH_LOCKED = "auth.locked"  # too many wrong passwords: 429 with Retry-After (data: retry_after)
DEVICE_MISMATCH = "auth.device_mismatch"  # a push names another device than the token was issued to
DEVICE_ID_INVALID = "auth.device_id_invalid"  # control or bidi characters in a device id
VILLAGE_NOT_ASSIGNED = "village.not_assigned"

# --- records
RECORD_CONFLICT = "record.conflict"
BASE_VERSION_INVALID = "record.base_version_invalid"
CONTENT_HASH_MISMATCH = "record.content_hash_mismatch"
RECORD_NOT_NORMALIZED = "record.not_normalized"
RECORD_UNKNOWN = "record.unknown"

# --- blobs
BLOB_OFFSET = "blob.offset_mismatch"
BLOB_HASH = "blob.hash_mismatch"
BLOB_SIZE = "blob.size_invalid"
BLOB_MISSING = "blob.missing"

# --- central review
REVIEW_STATE = "review.state_invalid"
REVIEW_STALE = "review.version_stale"
REVIEW_REASON = "review.reason_required"
REVIEW_REASON_LONG = "review.reason_too_long"
REVIEW_PASSWORD = "review.password_required"
REVIEW_ACTION = "review.action_invalid"
REVIEW_CHECKS_UNAVAILABLE = "review.checks_unavailable"
# Separation of duties: only a village's cadres push; nobody decides on a record they created or
# edited; the approver does not also hand out the card (unless the registry's policy allows it).
PUSH_CADRE_ONLY = "record.push_cadre_only"
REVIEW_OWN_RECORD = "review.own_record"
REVIEW_APPROVER_ISSUES_CARD = "review.approver_issues_card"

# --- remote verification (docs/verification-api.md): the worker's page and the requests behind it
VERIFY_TOKEN_UNKNOWN = "verify.token_unknown"        # no such link (or it names no one any more)
VERIFY_EXPIRED = "verify.expired"                    # the link is past its expiry
VERIFY_USED_UP = "verify.used_up"                    # passed already, or no attempts left
VERIFY_ID_MISMATCH = "verify.id_mismatch"            # the last 6 ID characters do not match (counted)
VERIFY_CONSENT_REQUIRED = "verify.consent_required"  # the consent text was not agreed to (this version)
VERIFY_SESSION_INVALID = "verify.session_invalid"    # no unlocked session, or it timed out
VERIFY_ATTEMPT_CLOSED = "verify.attempt_closed"      # the attempt is finished or past its last deadline
VERIFY_NONCE_MISMATCH = "verify.nonce_mismatch"      # a frame without the attempt's nonce
VERIFY_UPLOAD_TOO_LARGE = "verify.upload_too_large"  # a frame, or an attempt's frames together, too large
VERIFY_TOO_MANY_FRAMES = "verify.too_many_frames"    # more frames than an attempt takes
VERIFY_RATE_LIMITED = "verify.rate_limited"          # too many wrong digits from this link or address
VERIFY_RESIDENT_UNKNOWN = "verify.resident_unknown"  # a request for someone on no roster and with no record
VERIFY_ENGINE_UNAVAILABLE = "verify.engine_unavailable"  # the liveness engine is not installed here
VERIFY_CLIP_MISSING = "verify.clip_missing"          # a video check names a clip this caller did not upload
# The offline video path: a clip the engine cannot take (capture/liveness/video.py)
VIDEO_UNREADABLE = "video.unreadable"                # not a video OpenCV can decode
VIDEO_TOO_SHORT = "video.too_short"                  # shorter than 3 s
VIDEO_TOO_LONG = "video.too_long"                    # longer than 60 s

# --- the registry failed (an answer in its error shape with a 5xx status)
SERVER_INTERNAL = "server.internal"

# --- a sync's outcome (``SyncReport.error_code``)
SYNC_NOT_CONFIGURED = "sync.not_configured"
SYNC_NETWORK = "sync.network"
SYNC_SERVER_ERROR = "sync.server_error"
SYNC_CANCELLED = "sync.cancelled"
SYNC_REFUSED = "sync.refused"

# --- the laptop's store
STORE_TOO_NEW = "store.too_new"

# --- the laptop's part of the offline video path (docs/verification-api.md, "The offline video path")
VIDEO_NO_REQUEST = "video.no_request"    # no request with a video challenge for this resident on this laptop
VIDEO_TOO_LARGE = "video.too_large"      # the clip is larger than a blob may be (protocol.BLOB_MAX)

# --- no usable answer: the code of an ``enrollment.errors.Unavailable`` of each kind
NETWORK_TIMEOUT = "network.timeout"
NETWORK_UNREACHABLE = "network.unreachable"
NETWORK_BAD_RESPONSE = "network.bad_response"
NETWORK_SERVER_ERROR = "network.server_error"

# --- the residents' self-query page and the public notice (issue 13, registry.selfquery, registry.payments.notice)
SELFQUERY_RATE_LIMITED = "selfquery.rate_limited"    # too many codes asked for this ID number, or from this address
SELFQUERY_CODE_WRONG = "selfquery.code_wrong"        # the SMS code does not match (counted; 5 wrong kill the code)
SELFQUERY_CODE_DEAD = "selfquery.code_dead"          # 5 wrong codes were entered: this code takes no more tries
SELFQUERY_CODE_EXPIRED = "selfquery.code_expired"    # the code is past its 5 minutes, already used, or unknown
NOTICE_VILLAGE_UNKNOWN = "notice.village_unknown"    # no such village in the registry
NOTICE_PERIOD_INVALID = "notice.period_invalid"      # the period is not YYYYMM
NOTICE_FORMAT_UNKNOWN = "notice.format_unknown"      # the output file is neither .csv nor .pdf
# --- the SMS outbox and its gateways (registry/sms, issue 13). An outbox row's last_error holds one of
# these; a gateway's own code is mapped to one of them (registry/sms/adapters), never stored as it is.
SMS_NO_PHONE = "sms.no_phone"                  # no phone for the resident (roster, record) or the village's cadres
SMS_NOT_CONFIGURED = "sms.not_configured"      # no gateway chosen, or a setting it needs is missing
SMS_SDK_MISSING = "sms.sdk_missing"            # the chosen gateway's SDK is not installed (an optional extra)
SMS_TEMPLATES_INVALID = "sms.templates_invalid"  # the templates file is unreadable or misses a template
SMS_TIMEOUT = "sms.timeout"                    # the gateway did not answer in time (retried)
SMS_UNREACHABLE = "sms.unreachable"            # no connection to the gateway (retried)
SMS_GATEWAY_ERROR = "sms.gateway_error"        # the gateway failed on its side, a 5xx (retried)
SMS_RATE_LIMITED = "sms.rate_limited"          # the gateway's frequency limits (retried later)
SMS_GATEWAY_AUTH = "sms.gateway_auth"          # the gateway refused our credentials (retried: fix the settings)
SMS_ACCOUNT = "sms.account"                    # the SMS account is suspended or out of balance (retried)
SMS_REFUSED = "sms.refused"                    # the gateway refused this message (not retried)
SMS_PHONE_INVALID = "sms.phone_invalid"        # the gateway says the number is not a valid mobile (not retried)
SMS_PHONE_BLOCKED = "sms.phone_blocked"        # the number opted out or is blacklisted (not retried)
SMS_TEMPLATE_INVALID = "sms.template_invalid"  # the template or signature is not approved, or a variable is bad
SMS_RECEIPT_INVALID = "sms.receipt_invalid"    # a delivery report file that is not in the expected shape
SMS_RECEIPT_UNAUTHORIZED = "sms.receipt_unauthorized"  # a pushed delivery report without the shared secret
# --- payments: batches, bank files and the bank's results (issue 13 items 3-4, registry/payments)
PAYMENTS_PERIOD_INVALID = "payments.period_invalid"          # not YYYYMM (month 01-12)
PAYMENTS_TOWNSHIP_INVALID = "payments.township_invalid"      # not the 9 digits a village code starts with
PAYMENTS_NOTHING_TO_BATCH = "payments.nothing_to_batch"      # no ready line of that item/period (no empty batch)
PAYMENTS_LINE_CONFLICT = "payments.line_conflict"            # the database refused a second open line: retry
PAYMENTS_CARD_NOT_ACTIVE = "payments.card_not_active"        # a line left ready: no active card at batch time
PAYMENTS_CARD_NAME_MISMATCH = "payments.card_name_mismatch"  # a line left ready: the active card is another name's
PAYMENTS_ALREADY_OPEN = "payments.already_open"              # a line left ready: same person/item/period open or paid
PAYMENTS_BATCH_UNKNOWN = "payments.batch_unknown"
PAYMENTS_BATCH_STATE = "payments.batch_state"                # the batch's state does not allow this step
PAYMENTS_APPROVER_IS_CREATOR = "payments.approver_is_creator"  # four eyes: the creator cannot approve
PAYMENTS_EXPORT_MISMATCH = "payments.export_mismatch"        # a re-export would differ from the first file's bytes
PAYMENTS_EXPORT_ENCODING = "payments.export_encoding"        # a name the chosen encoding (GBK) cannot write
PAYMENTS_BANK_FILE_INVALID = "payments.bank_file_invalid"    # resources/payments/bank_file.json is wrong
PAYMENTS_BANK_REASONS_INVALID = "payments.bank_reasons_invalid"  # resources/payments/bank_reasons.json is wrong
PAYMENTS_RESULTS_ALREADY_IMPORTED = "payments.results_already_imported"  # notice: the same file again, no change
PAYMENTS_LINE_UNKNOWN = "payments.line_unknown"              # no payment line with this reference
PAYMENTS_LINE_STATE = "payments.line_state"                  # only a credited line can be reversed
PAYMENTS_REASON_REQUIRED = "payments.reason_required"        # a reversal needs its reason (at most 200 characters)
PAYMENTS_AWAITING_CARD_FIX = "payments.awaiting_card_fix"    # a failed line waits for corrected card data
PAYMENTS_FILE_UNREADABLE = "payments.file_unreadable"        # the results file cannot be read
PAYMENTS_FILE_UNWRITABLE = "payments.file_unwritable"        # the bank file cannot be written there
# --- payments: the card bank's files and the departments' payment rosters (issue 13; registry/payments)
CARD_ENCODING = "card.encoding"                  # the cards file is neither UTF-8 nor the encoding named
CARD_EMPTY = "card.empty"                        # no header or no data line
CARD_COLUMNS = "card.columns"                    # not exactly id_number,name,card_number,bank_account,bank,status,date
CARD_ROWS_INVALID = "card.rows_invalid"          # some lines are bad: the whole file is refused (rows listed)
CARD_ROW_LENGTH = "card.row_length"              # a line with another number of fields than the header
CARD_VALUE_EMPTY = "card.value_empty"            # a required field is empty
CARD_NUMBER = "card.number"                      # a card number is not 9-19 digits or capital letters
CARD_ACCOUNT = "card.account"                    # a bank account is not 8-40 digits or capital letters
CARD_STATUS = "card.status"                      # not 已制卡/已激活/已挂失/已注销
CARD_DATE = "card.date"                          # not a real date written YYYY-MM-DD
CARD_NUMBER_REPEATED = "card.number_repeated"    # the same card number twice in the file
CARD_NUMBER_OTHER_PERSON = "card.number_other_person"  # the card number is known under another ID number
REVIEW_CARD_MISSING = "review.card_missing"      # mark-issued for an ID number with no made or active card
ENTITLEMENT_ENCODING = "entitlement.encoding"    # the roster is neither UTF-8 nor the encoding named
ENTITLEMENT_EMPTY = "entitlement.empty"          # no header or no data line
ENTITLEMENT_COLUMNS = "entitlement.columns"      # not exactly id_number,name,item,period,amount
ENTITLEMENT_DEPARTMENT = "entitlement.department"  # --department empty or longer than 64 characters
ENTITLEMENT_ALL_REFUSED = "entitlement.all_lines_refused"  # every line is bad: the file is refused whole
ENTITLEMENT_ROW_LENGTH = "entitlement.row_length"  # a line with another number of fields than the header
ENTITLEMENT_NAME_EMPTY = "entitlement.name_empty"  # a line without a name
ENTITLEMENT_ITEM_UNKNOWN = "entitlement.item_unknown"  # not a code of resources/subsidies/catalogue.json
ENTITLEMENT_PERIOD = "entitlement.period"        # not YYYYMM with a month 01-12
ENTITLEMENT_LINE_REPEATED = "entitlement.line_repeated"  # the same ID number, item and period again in the file
ENTITLEMENT_UNKNOWN = "entitlement.unknown"      # no roster line with this id
ENTITLEMENT_STATE = "entitlement.state_invalid"  # only an intercepted line is released or rejected
ENTITLEMENT_DUPLICATE_OPEN = "entitlement.duplicate_open"  # release refused: the same payment is ready or paid
# --- payments: the central staff API (issue 13; registry/payments/routes.py, docs/payments/central-api.md)
PAYMENTS_RESULT_IMPORT_UNKNOWN = "payments.result_import_unknown"  # no return file import with this id
