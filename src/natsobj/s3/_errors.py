"""S3 errors: the codes the gateway answers with, their HTTP statuses and default messages.

An `S3Error` raised anywhere in the gateway becomes S3's XML error body (see `_xml.error_body`).
Store errors are translated to S3 codes in one table here (`from_store_error`), so no handler
maps them by hand.
"""

from __future__ import annotations

from .. import (
    BucketFullError,
    BucketNotFoundError,
    BucketReadOnlyError,
    BucketSealedError,
    ConnectionLostError,
    IntegrityError,
    InvalidBucketNameError,
    InvalidObjectNameError,
    LinkIsABucketError,
    ObjectNotFoundError,
    ObjectStoreError,
    PermissionDeniedError,
    RevisionMismatchError,
    StoreTimeoutError,
)

# code -> (HTTP status, default message), as the S3 API reference lists them, or as AWS
# answers them where its recorded answers were checked
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "The query authorization parameters are invalid."),
    "BadDigest": (400, "The Content-MD5 or checksum you specified did not match what we received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": (
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed size"),
    "IllegalVersioningConfigurationException": (
        400,
        "The versioning configuration specified in the request is invalid.",
    ),
    "IncompleteBody": (
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (
        403,
        "The AWS access key ID you provided does not exist in our records.",
    ),
    "InvalidArgument": (400, "Invalid Argument."),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidDigest": (400, "The Content-MD5 or checksum you specified is not valid."),
    "InvalidEncryptionAlgorithmError": (
        400,
        "The encryption request you specified is not valid. The valid value is AES256.",
    ),
    "IllegalLocationConstraintException": (
        400,
        "The location constraint is incompatible for the region specific endpoint this request "
        "was sent to.",
    ),
    "InvalidLocationConstraint": (400, "The specified location-constraint is not valid"),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
    "InvalidPartOrder": (
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    ),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request."),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidTag": (400, "The tag you provided is not valid."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedXML": (
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    ),
    "MaxMessageLengthExceeded": (400, "Your request was too big."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingRequestBodyError": (400, "Request Body is empty."),
    "MissingSecurityHeader": (400, "Your request was missing a required header"),
    "NoSuchBucket": (404, "The specified bucket does not exist"),  # no period, as S3 says it
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist."),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist"),
    "NoSuchTagSet": (404, "The TagSet does not exist."),
    "NoSuchUpload": (
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
    ),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NoSuchWebsiteConfiguration": (
        404,
        "The specified bucket does not have a website configuration",
    ),
    "NotImplemented": (
        501,
        "A header or query you provided implies functionality that is not implemented.",
    ),
    "ObjectLockConfigurationNotFoundError": (
        404,
        "Object Lock configuration does not exist for this bucket.",
    ),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold"),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the server's time is too large.",
    ),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written to within the "
        "timeout period.",
    ),
    "ServerSideEncryptionConfigurationNotFoundError": (
        404,
        "The server side encryption configuration was not found.",
    ),
    "ServiceUnavailable": (503, "NATS is not reachable now; please retry."),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided.",
    ),
    "SlowDown": (503, "Please reduce your request rate."),
    "XAmzContentSHA256Mismatch": (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    "ConditionalRequestConflict": (409, "A conflicting operation occurred. Retry the request."),
    "InvalidObjectState": (403, "The operation is not valid for the current state of the object."),
}


class S3Error(Exception):
    """An S3 error response: code, HTTP status, message and extra XML fields."""

    def __init__(self, code: str, message: str | None = None, **fields: str) -> None:
        status, default = CODES.get(code, (400, code))
        super().__init__(message or default)
        self.code = code
        self.status = status
        self.message = message or default
        self.fields = fields
        self.headers: dict[str, str] = {}


def from_store_error(exc: ObjectStoreError, *, bucket: str = "", key: str = "") -> S3Error:
    """The S3 error a store error means (each with a message that says what to do)."""
    fields = {"BucketName": bucket} if bucket else {}
    if key:
        fields["Key"] = key
    if isinstance(exc, BucketNotFoundError):
        return S3Error("NoSuchBucket", **fields)
    if isinstance(exc, ObjectNotFoundError):
        return S3Error("NoSuchKey", **fields)
    if isinstance(exc, LinkIsABucketError):  # not listed either: S3 has no object to show
        return S3Error("NoSuchKey", f"{exc}; S3 serves objects, not links to buckets", **fields)
    if isinstance(exc, (InvalidBucketNameError,)):
        return S3Error("InvalidBucketName", str(exc), **fields)
    if isinstance(exc, InvalidObjectNameError):
        return S3Error("InvalidArgument", str(exc), **fields)
    if isinstance(exc, RevisionMismatchError):
        return S3Error("PreconditionFailed", str(exc), **fields)
    if isinstance(exc, BucketReadOnlyError):
        return S3Error("AccessDenied", str(exc), **fields)
    if isinstance(exc, PermissionDeniedError):
        return S3Error("AccessDenied", str(exc), **fields)
    if isinstance(exc, BucketSealedError):
        return S3Error("InvalidBucketState", str(exc), **fields)
    if isinstance(exc, BucketFullError):
        return S3Error("EntityTooLarge", str(exc), **fields)
    if isinstance(exc, IntegrityError):
        return S3Error("InternalError", f"the stored object is damaged: {exc}", **fields)
    if isinstance(exc, (StoreTimeoutError, ConnectionLostError)):
        return unavailable(str(exc), **fields)
    return S3Error("InternalError", str(exc), **fields)


def unavailable(message: str | None = None, **fields: str) -> S3Error:
    """503 ServiceUnavailable with Retry-After: NATS is away or did not answer in time."""
    err = S3Error("ServiceUnavailable", message, **fields)
    err.headers["Retry-After"] = "1"
    return err
