//! [`GrpcCode`] and [`GrpcClassifier`]: which gRPC statuses count.

use crate::tower::classify::retry_after;
use fusebox_core::Outcome;
use http::{HeaderMap, StatusCode};
use std::time::{Duration, SystemTime};

/// A gRPC status code (the numbers of the gRPC spec; `tonic::Code as i32`
/// gives the same numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The spec's names; see grpc/doc/statuscodes.md.
pub enum GrpcCode {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// Every code, in numeric order.
const CODES: [GrpcCode; 17] = {
    use GrpcCode::*;
    [
        Ok,
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    ]
};

impl GrpcCode {
    /// The code numbered `n`; a number outside the spec is `Unknown`, as
    /// gRPC clients read it.
    pub const fn from_i32(n: i32) -> GrpcCode {
        if n >= 0 && n < CODES.len() as i32 {
            CODES[n as usize]
        } else {
            GrpcCode::Unknown
        }
    }

    /// The code a `grpc-status` header carries, if it is there; a value
    /// that is not a number is `Unknown`.
    pub fn from_headers(headers: &HeaderMap) -> Option<GrpcCode> {
        let v = headers.get("grpc-status")?;
        let n = std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        Some(n.map_or(GrpcCode::Unknown, GrpcCode::from_i32))
    }

    /// The code a gRPC client reports for an HTTP response that carries no
    /// `grpc-status` (gRPC's `http-grpc-status-mapping.md`, as tonic maps
    /// it): 400 `Internal`, 401 `Unauthenticated`, 403 `PermissionDenied`,
    /// 404 `Unimplemented`, 429 and 502-504 `Unavailable`, others `Unknown`.
    /// `None` for 200, which is no error by itself.
    pub fn from_http_status(status: StatusCode) -> Option<GrpcCode> {
        Some(match status.as_u16() {
            200 => return None,
            400 => GrpcCode::Internal,
            401 => GrpcCode::Unauthenticated,
            403 => GrpcCode::PermissionDenied,
            404 => GrpcCode::Unimplemented,
            429 | 502 | 503 | 504 => GrpcCode::Unavailable,
            _ => GrpcCode::Unknown,
        })
    }
}

/// gRPC statuses to outcomes.
///
/// By default:
///
/// | status | outcome |
/// |---|---|
/// | `OK` | success |
/// | `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS` | failure |
/// | `UNAVAILABLE` or `RESOURCE_EXHAUSTED` that names a pause (below) | failure that opens the breaker for that long |
/// | `CANCELLED`, `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `PERMISSION_DENIED`, `FAILED_PRECONDITION`, `ABORTED`, `OUT_OF_RANGE`, `UNIMPLEMENTED`, `UNAUTHENTICATED` | counts nowhere: the call was wrong, not the server |
///
/// A status names a pause with its metadata (trailers, or the headers of a
/// trailers-only response): `grpc-retry-pushback-ms` (gRPC's server
/// pushback, whole milliseconds; a negative or malformed value names none),
/// else the HTTP forms that [`retry_after`] reads (`retry-after-ms`,
/// `retry-after`, ...). The breaker clamps every pause to its
/// `max_trip_hint`.
///
/// ```
/// use fusebox_core::Outcome;
/// use fusebox_std::tower::grpc::{GrpcClassifier, GrpcCode};
///
/// let k = GrpcClassifier::new().on(GrpcCode::NotFound, Outcome::Failure);
/// assert_eq!(k.classify(GrpcCode::NotFound), Outcome::Failure);
/// assert_eq!(k.classify(GrpcCode::InvalidArgument), Outcome::Ignored);
/// assert_eq!(k.classify(GrpcCode::Unavailable), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrpcClassifier {
    outcomes: [Outcome; 17],
    pause_on_pushback: bool,
}

impl Default for GrpcClassifier {
    fn default() -> Self {
        GrpcClassifier::new()
    }
}

impl GrpcClassifier {
    /// The defaults of the table above.
    pub const fn new() -> Self {
        use GrpcCode::*;
        let mut outcomes = [Outcome::Ignored; 17];
        outcomes[Ok as usize] = Outcome::Success;
        let failures = [
            Unavailable,
            DeadlineExceeded,
            ResourceExhausted,
            Internal,
            Unknown,
            DataLoss,
        ];
        let mut i = 0;
        while i < failures.len() {
            outcomes[failures[i] as usize] = Outcome::Failure;
            i += 1;
        }
        GrpcClassifier {
            outcomes,
            pause_on_pushback: true,
        }
    }

    /// The same classifier with `code` meaning `outcome`.
    pub const fn on(mut self, code: GrpcCode, outcome: Outcome) -> Self {
        self.outcomes[code as usize] = outcome;
        self
    }

    /// Whether an `UNAVAILABLE` or `RESOURCE_EXHAUSTED` that names a pause
    /// opens the breaker for it (default `true`); otherwise it is judged by
    /// [`classify`](Self::classify) alone.
    pub const fn pause_on_pushback(mut self, on: bool) -> Self {
        self.pause_on_pushback = on;
        self
    }

    /// The outcome of a call that ended with `code`.
    pub const fn classify(&self, code: GrpcCode) -> Outcome {
        self.outcomes[code as usize]
    }

    /// The pause that a status with `code` and `metadata` asks for, if this
    /// classifier honours it.
    pub fn pause(&self, code: GrpcCode, metadata: &HeaderMap) -> Option<Duration> {
        let asks = matches!(code, GrpcCode::Unavailable | GrpcCode::ResourceExhausted);
        if !(self.pause_on_pushback && asks) {
            return None;
        }
        if let Some(v) = metadata.get("grpc-retry-pushback-ms") {
            // gRPC: a negative or malformed pushback means "do not retry",
            // which names no time.
            return std::str::from_utf8(v.as_bytes())
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis);
        }
        retry_after(metadata, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn server_trouble_fails_caller_mistakes_count_nowhere() {
        let k = GrpcClassifier::new();
        let failures = [2, 4, 8, 13, 14, 15];
        for code in CODES {
            let want = match code as i32 {
                0 => Outcome::Success,
                n if failures.contains(&n) => Outcome::Failure,
                _ => Outcome::Ignored,
            };
            assert_eq!(k.classify(code), want, "{code:?}");
        }
    }

    #[test]
    fn codes_parse_from_headers_and_http_statuses() {
        assert_eq!(
            GrpcCode::from_headers(&meta(&[("grpc-status", "14")])),
            Some(GrpcCode::Unavailable)
        );
        assert_eq!(
            GrpcCode::from_headers(&meta(&[("grpc-status", "99")])),
            Some(GrpcCode::Unknown)
        );
        assert_eq!(
            GrpcCode::from_headers(&meta(&[("grpc-status", "x")])),
            Some(GrpcCode::Unknown)
        );
        assert_eq!(GrpcCode::from_headers(&HeaderMap::new()), None);
        assert_eq!(GrpcCode::from_http_status(StatusCode::OK), None);
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::SERVICE_UNAVAILABLE),
            Some(GrpcCode::Unavailable)
        );
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::NOT_FOUND),
            Some(GrpcCode::Unimplemented)
        );
    }

    #[test]
    fn pushback_pauses_only_unavailable_and_resource_exhausted() {
        let k = GrpcClassifier::new();
        let m = meta(&[("grpc-retry-pushback-ms", "1500")]);
        assert_eq!(
            k.pause(GrpcCode::ResourceExhausted, &m),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            k.pause(GrpcCode::Unavailable, &m),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(k.pause(GrpcCode::Internal, &m), None);
        assert_eq!(
            k.pause(
                GrpcCode::Unavailable,
                &meta(&[("grpc-retry-pushback-ms", "-1")])
            ),
            None
        );
        assert_eq!(
            k.pause(GrpcCode::Unavailable, &meta(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(k.pause(GrpcCode::Unavailable, &HeaderMap::new()), None);
        let off = k.pause_on_pushback(false);
        assert_eq!(off.pause(GrpcCode::Unavailable, &m), None);
    }
}
