//! Mail out: the SMTP transport (lettre) and the templates every mail is
//! rendered from. Only the outbox worker sends; use cases queue messages
//! in the outbox with the change that causes them.

pub mod templates;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a mail did not go.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MailError {
    /// Try again later: the server is unreachable, busy, or said 4xx.
    #[error("transient: {0}")]
    Transient(String),
    /// Never deliverable as it is: a refused recipient or a 5xx answer.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// One mail as it leaves.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Stable over retries: the Message-ID's local part.
    pub id: &'a str,
    /// Put in front of the configured sender's address ("NYS-AIMH").
    pub sender_name: &'a str,
    pub to_name: &'a str,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl Mailer {
    /// The transport for `url` (checked when the configuration was read).
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("ENDORSE_SMTP_URL: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("ENDORSE_MAIL_FROM: {e}"))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, mail: &Outgoing<'_>) -> Result<(), MailError> {
        let to = Mailbox::new(
            Some(mail.to_name.to_owned()),
            mail.to_address.parse().map_err(|e| MailError::Permanent(format!("recipient address: {e}")))?,
        );
        let sender = Mailbox::new(Some(mail.sender_name.to_owned()), self.from.email.clone());
        let message = Message::builder()
            .message_id(Some(format!("<{}@{}>", mail.id, self.from.email.domain())))
            .from(sender)
            .reply_to(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| MailError::Permanent(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(MailError::Permanent(error.to_string())),
            Err(error) => Err(MailError::Transient(error.to_string())),
        }
    }
}
