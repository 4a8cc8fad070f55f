//! The connection layer under axum: what `axum::serve` does not offer.
//! - A cap on open connections: past it a connection gets a 503 with
//!   `Retry-After` and is closed, so a flood cannot exhaust file descriptors.
//! - A header-read timeout: once a request's first byte has arrived its
//!   headers must be complete within `header_read_timeout` (a client
//!   trickling one byte a second is dropped).
//! - An idle timeout: a keep-alive connection with no request in flight that
//!   sends nothing for `keep_alive_timeout` is closed.
//!   (hyper's own header timer starts when a connection goes idle, so it
//!   cannot tell the two apart; [`Guarded`] tracks both on the socket.)
//! - Graceful shutdown: stop accepting, let requests in flight finish.
//!
//! Each request carries its peer address as a [`ClientAddress`] extension
//! (the rate limiter's key for anonymous callers).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The peer of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub SocketAddr);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub drain_timeout: Duration,
}

impl ConnectionLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let limits = &config.limits;
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(limits.header_read_timeout_ms),
            keep_alive_timeout: Duration::from_millis(limits.keep_alive_timeout_ms),
            max_connections: limits.max_connections,
            drain_timeout: Duration::from_millis(limits.request_timeout_ms) + Duration::from_secs(5),
        }
    }
}

/// The answer to a connection beyond the cap, written straight to the
/// socket (no HTTP machinery is spent on it).
const OVER_CAPACITY_BODY: &str =
    r#"{"errors":[{"message":"Too many open connections.","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#;

/// The whole response, its Content-Length computed from the body (a length
/// written by hand was once one byte too long, and clients then waited for
/// a byte that never came).
fn over_capacity_response() -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{OVER_CAPACITY_BODY}",
        OVER_CAPACITY_BODY.len()
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!(crate::telemetry::metrics::HTTP_REFUSED_CONNECTIONS).increment(1);
            tokio::spawn(refuse_over_capacity(stream));
            continue;
        };
        let open = metrics::gauge!(crate::telemetry::metrics::HTTP_OPEN_CONNECTIONS);
        open.increment(1.0);
        let _ = stream.set_nodelay(true);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Guarded::new(stream, in_flight.clone(), limits));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ClientAddress(peer));
            let busy = Busy::enter(&in_flight);
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(busy);
                response
            }
        });
        let connection = builder.serve_connection_with_upgrades(io, service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            open.decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after the drain timeout; closing them");
    }
    Ok(())
}

async fn refuse_over_capacity(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(over_capacity_response().as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Marks a request in flight on its connection for as long as it lives
/// (also when the request is cancelled).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Busy(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight, nothing received since: the idle timer runs.
    Idle,
    /// Bytes of a request head arrived: the header timer runs.
    Head,
    /// A request is being served: no timer (the request timeout applies).
    Busy,
}

/// A socket that times out idle connections and slow request heads.
struct Guarded {
    io: TcpStream,
    in_flight: Arc<AtomicUsize>,
    limits: ConnectionLimits,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(io: TcpStream, in_flight: Arc<AtomicUsize>, limits: ConnectionLimits) -> Self {
        let deadline = Box::pin(tokio::time::sleep(limits.keep_alive_timeout));
        Guarded { io, in_flight, limits, phase: Phase::Idle, deadline }
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    fn enter(&mut self, phase: Phase) {
        if self.phase == phase {
            return;
        }
        self.phase = phase;
        let wait = match phase {
            Phase::Idle => self.limits.keep_alive_timeout,
            Phase::Head => self.limits.header_read_timeout,
            Phase::Busy => return,
        };
        self.deadline.as_mut().reset(Instant::now() + wait);
    }

    /// The phase after a response went out or a request finished.
    fn settle(&mut self) {
        if self.busy() {
            self.enter(Phase::Busy);
        } else if self.phase == Phase::Busy {
            self.enter(Phase::Idle);
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.settle();
                if buf.filled().len() > before && this.phase == Phase::Idle {
                    this.enter(Phase::Head);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                this.settle();
                if this.phase != Phase::Busy && this.deadline.as_mut().poll(cx).is_ready() {
                    let what = if this.phase == Phase::Head { "request headers" } else { "an idle connection" };
                    tracing::debug!("closing {what} past its timeout");
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.settle();
        Pin::new(&mut this.io).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.settle();
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_capacity_answer_declares_its_exact_length() {
        let response = over_capacity_response();
        let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
        let declared: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .and_then(|n| n.parse().ok())
            .expect("a Content-Length");
        assert_eq!(declared, body.len());
        let parsed: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(parsed["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    }
}
