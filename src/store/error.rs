use mongodb::error::{Error as MongoError, ErrorKind};

/// What can go wrong in the storage layer, in terms the API can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The connection string or client options are unusable.
    #[error("invalid MongoDB configuration: {0}")]
    Config(#[source] MongoError),
    /// No server could be reached in time: the caller should retry later.
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

fn is_unavailable(error: &MongoError) -> bool {
    matches!(
        *error.kind,
        ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. }
    )
}

fn duplicate_key_index(error: &MongoError) -> Option<String> {
    let write_error = match &*error.kind {
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(e)) => e,
        _ => return None,
    };
    if write_error.code != 11000 {
        return None;
    }
    // "E11000 duplicate key error collection: db.c index: name_1 dup key: ..."
    let message = &write_error.message;
    let index = message.split("index: ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or("unknown");
    Some(index.to_owned())
}
