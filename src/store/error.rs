use mongodb::error::{
    Error as MongoError, ErrorKind, RETRYABLE_ERROR, RETRYABLE_WRITE_ERROR, SYSTEM_OVERLOADED_ERROR,
    TRANSIENT_TRANSACTION_ERROR, WriteFailure,
};

/// What can go wrong in the storage layer, in terms the API can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The connection string or client options are unusable.
    #[error("invalid MongoDB configuration: {0}")]
    Config(#[source] MongoError),
    /// The database cannot serve the operation right now (unreachable,
    /// restarting, stepping down): the caller should retry later.
    #[error("MongoDB is unavailable: {0}")]
    Unavailable(#[source] MongoError),
    /// A unique index refused the write; holds the index name.
    #[error("duplicate key on index {0}")]
    Duplicate(String),
    /// A stored document does not have the expected shape.
    #[error("stored document is malformed: {0}")]
    Corrupt(String),
    #[error("MongoDB error: {0}")]
    Other(#[source] MongoError),
    /// A transaction's commit was acknowledged again and again without
    /// taking effect (a server restarting under it): retry later.
    #[error("MongoDB acknowledged commits that did not take effect")]
    Unconfirmed,
}

impl From<MongoError> for StoreError {
    fn from(error: MongoError) -> Self {
        if is_unavailable(&error) {
            return StoreError::Unavailable(error);
        }
        if let Some(index) = duplicate_key_index(&error) {
            return StoreError::Duplicate(index);
        }
        match *error.kind {
            ErrorKind::BsonDeserialization(_) => StoreError::Corrupt(error.to_string()),
            _ => StoreError::Other(error),
        }
    }
}

/// Server error codes that mean "this node cannot serve you right now", not
/// "your operation is wrong": the SDAM state-change codes (a primary stepping
/// down, shutting down or restarting) and the rest of the driver's
/// retryable-read set (network failures the server reports).
const TRANSIENT_CODES: [i32; 14] = [
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13436, // NotPrimaryOrSecondary
    10107, // NotWritablePrimary
    13435, // NotPrimaryNoSecondaryOk
    10058, // LegacyNotPrimary
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    9001,  // SocketException
    134,   // ReadConcernMajorityNotAvailableYet
    262,   // ExceededTimeLimit
];

/// Labels the server or the driver put on errors worth retrying later.
const TRANSIENT_LABELS: [&str; 4] =
    [RETRYABLE_WRITE_ERROR, TRANSIENT_TRANSACTION_ERROR, RETRYABLE_ERROR, SYSTEM_OVERLOADED_ERROR];

/// Whether the error says the database is unreachable or not serving, judged
/// by the driver's error kinds, codes and labels (never by message text). A
/// driver error may wrap the one that caused it, so the whole chain counts.
pub(crate) fn is_unavailable(error: &MongoError) -> bool {
    if TRANSIENT_LABELS.iter().any(|label| error.contains_label(label)) {
        return true;
    }
    std::iter::successors(Some(error), |e| std::error::Error::source(*e)?.downcast_ref::<MongoError>()).any(|e| {
        match &*e.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. } => true,
            kind => server_code(kind).is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        }
    })
}

/// The code of a command error or a write-concern error. Codes of individual
/// write errors are left out on purpose: they judge the document, not the
/// server (the SDAM spec makes the same distinction).
fn server_code(kind: &ErrorKind) -> Option<i32> {
    match kind {
        ErrorKind::Command(error) => Some(error.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(error)) => Some(error.code),
        ErrorKind::InsertMany(failure) => failure.write_concern_error.as_ref().map(|e| e.code),
        _ => None,
    }
}

/// Whether a unique index refused the write (code 11000).
pub(crate) fn is_duplicate_key(error: &MongoError) -> bool {
    matches!(&*error.kind, ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == 11000)
}

fn duplicate_key_index(error: &MongoError) -> Option<String> {
    let write_error = match &*error.kind {
        ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == 11000 => e,
        _ => return None,
    };
    // "E11000 duplicate key error collection: db.c index: name_1 dup key: ..."
    let message = &write_error.message;
    let index = message.split("index: ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or("unknown");
    Some(index.to_owned())
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{self, doc};
    use mongodb::error::{CommandError, WriteConcernError, WriteError};

    use super::*;

    /// The driver offers no constructors for server errors, but they are
    /// `Deserialize` (that is how it reads them off the wire).
    fn command_error(code: i32, name: &str) -> MongoError {
        let error: CommandError =
            bson::from_document(doc! { "code": code, "codeName": name, "errmsg": "from the server" }).unwrap();
        ErrorKind::Command(error).into()
    }

    fn write_concern_error(code: i32, labels: &[&str]) -> MongoError {
        let error: WriteConcernError =
            bson::from_document(doc! { "code": code, "codeName": "X", "errmsg": "wc", "errorLabels": labels }).unwrap();
        ErrorKind::Write(WriteFailure::WriteConcernError(error)).into()
    }

    fn write_error(code: i32) -> MongoError {
        let error: WriteError = bson::from_document(doc! {
            "code": code,
            "errmsg": "E11000 duplicate key error collection: endorse.portfolios index: _id_ dup key: { _id: 1 }",
        })
        .unwrap();
        ErrorKind::Write(WriteFailure::WriteError(error)).into()
    }

    fn unavailable(error: MongoError) -> bool {
        matches!(StoreError::from(error), StoreError::Unavailable(_))
    }

    #[test]
    fn state_change_codes_are_unavailable() {
        for (code, name) in [
            (91, "ShutdownInProgress"),
            (11600, "InterruptedAtShutdown"),
            (11602, "InterruptedDueToReplStateChange"),
            (189, "PrimarySteppedDown"),
            (10107, "NotWritablePrimary"),
            (13435, "NotPrimaryNoSecondaryOk"),
            (13436, "NotPrimaryOrSecondary"),
            (10058, "LegacyNotPrimary"),
        ] {
            assert!(unavailable(command_error(code, name)), "{name}");
            // The same codes reported as a write-concern failure.
            assert!(unavailable(write_concern_error(code, &[])), "{name} as write concern error");
        }
    }

    #[test]
    fn network_errors_are_unavailable() {
        for kind in [
            std::io::ErrorKind::ConnectionRefused,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::UnexpectedEof,
            std::io::ErrorKind::TimedOut,
        ] {
            assert!(unavailable(std::io::Error::from(kind).into()), "{kind:?}");
        }
    }

    #[test]
    fn transient_labels_are_unavailable() {
        // 64 WriteConcernFailed is not transient by code; the label decides.
        assert!(!unavailable(write_concern_error(64, &[])));
        assert!(unavailable(write_concern_error(64, &[RETRYABLE_WRITE_ERROR])));
        assert!(unavailable(write_concern_error(64, &[TRANSIENT_TRANSACTION_ERROR])));
    }

    #[test]
    fn other_errors_are_not_unavailable() {
        assert!(matches!(StoreError::from(command_error(2, "BadValue")), StoreError::Other(_)));
        assert!(matches!(StoreError::from(command_error(13, "Unauthorized")), StoreError::Other(_)));
        // A write error's code judges the document, even a state-change number.
        assert!(!unavailable(write_error(10107)));
    }

    #[test]
    fn duplicate_keys_name_their_index() {
        let error = write_error(11000);
        assert!(is_duplicate_key(&error));
        assert!(matches!(StoreError::from(error), StoreError::Duplicate(index) if index == "_id_"));
    }
}
