"""Reading a subject's last message with STREAM.MSG.GET: for streams without allow_direct.

Direct get has no responder on such a stream (nats.go's hand-made object store mirror is one),
so a read that only knew direct get waited out its whole retry budget (31 s measured).
"""

from __future__ import annotations

import base64

from .._wire.errors import JetStreamAPIError
from .api import JetStream, StoredMsg
from .errors import ERR_NO_MESSAGE_FOUND


async def msg_get_last(
    js: JetStream, stream: str, subject: str, *, bucket: str, timeout: float | None = None
) -> StoredMsg | None:
    """The last message on `subject` in `stream` (answered by the stream leader), or None."""
    try:
        doc = await js.api(
            f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject}, bucket=bucket, timeout=timeout
        )
    except JetStreamAPIError as exc:
        if exc.err_code == ERR_NO_MESSAGE_FOUND:
            return None
        raise
    msg = doc.get("message") or {}
    hdrs = msg.get("hdrs")
    return StoredMsg(
        subject=str(msg.get("subject") or subject),
        seq=int(msg.get("seq") or 0),
        data=base64.b64decode(msg.get("data") or ""),
        raw_headers=base64.b64decode(hdrs) if hdrs else None,
        time=msg.get("time"),
        num_pending=None,
    )
