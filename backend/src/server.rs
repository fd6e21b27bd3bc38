//! The listener: accepts connections within the caps of [`Limits`] and serves each over HTTP/1.1
//! (hyper) under its timeouts, so clients that open connections and send nothing, half a head or
//! a trickle cannot hold the server (docs/adr/0019).
//!
//! - At most `max_connections` at once: at the cap the listener stops accepting (new connections
//!   wait in the kernel's queue) until one closes.
//! - At most `max_connections_per_client` per client: more are answered 429 (`ErrorBody`) and
//!   closed, so one client cannot take all the connections.
//! - A request head must be complete within `header_read_timeout` (hyper's timer, which also runs
//!   while a keep-alive connection waits for its next request).
//! - A connection on which no byte moves for `idle_timeout` is asked to close, and dropped if it
//!   is still idle one period later (a stalled upload, a client that stops reading).
//! - Shutdown: stop accepting, let each connection finish its request, wait for all.

use crate::error::ApiFailure;
use crate::limits::Limits;
use crate::throttle::client_key;
use axum::Router;
use axum::extract::ConnectInfo;
use eid_core::api::ErrorCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

/// hyper's read buffer, so the largest request head (hyper's minimum is 8 KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown` completes and every connection has ended,
/// counting open and refused connections in `counts` (`/metrics`).
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    counts: ConnectionCounts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = u32::try_from(limits.max_connections)
        .unwrap_or(u32::MAX)
        .clamp(1, 1 << 24);
    let slots = Arc::new(Semaphore::new(max as usize));
    let per_client = Arc::new(PerClient::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection gone before it was accepted.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(ticket) =
            per_client.enter(client_key(peer.ip()), limits.max_connections_per_client)
        else {
            counts.refused.inc();
            tokio::spawn(refuse(stream, permit));
            continue;
        };
        let open = OpenConnection::new(&counts.open);
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            limits.clone(),
            stop_rx.clone(),
            (permit, ticket, open),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let _ = slots.acquire_many(max).await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, Ticket, OpenConnection),
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    // The peer address for the per-client throttles (axum's ConnectInfo).
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // A request head that does not fit hyper's read buffer is refused by hyper itself (431,
        // no body, closed; its default is ~400 KiB). hyper checks after each read and one read
        // may fill the buffer's spare capacity, so the limit is this size to about twice it
        // (measured: 110 KiB passes, 120 KiB is refused). Bounds the memory of one head.
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut ticker =
        tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(10)));
    let mut closing = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended");
                }
                break;
            }
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = ticker.tick() => {
                if activity.idle_for() >= limits.idle_timeout {
                    if closing {
                        break;
                    }
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    activity.touch();
                }
            }
        }
    }
}

/// The connection gauges of a listener (unregistered ones count nowhere).
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts {
    /// Connections being served now.
    pub open: Gauge,
    /// Connections answered 429 and closed at the per-client cap.
    pub refused: Counter,
}

/// One served connection in the open gauge, until dropped.
struct OpenConnection(Gauge);

impl OpenConnection {
    fn new(open: &Gauge) -> OpenConnection {
        open.inc();
        OpenConnection(open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// 429 in the API's shape to a client over its connection cap, then close.
async fn refuse(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    tracing::debug!("connection refused: per-client cap");
    let body = ApiFailure::new(
        ErrorCode::RateLimited,
        "too many connections from this address",
    )
    .body();
    let head = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    })
    .await;
}

/// Open connections per client.
#[derive(Debug, Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of `client`, counted until dropped.
struct Ticket {
    per_client: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    /// A ticket unless `client` already has `cap` connections (`cap` 0: no cap).
    fn enter(self: &Arc<Self>, client: IpAddr, cap: usize) -> Option<Ticket> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(client).or_insert(0);
        if cap > 0 && *n >= cap {
            return None;
        }
        *n += 1;
        Some(Ticket {
            per_client: self.clone(),
            client,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut open) = self.per_client.open.lock()
            && let Some(n) = open.get_mut(&self.client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// When a byte last moved on a connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// The socket, noting every byte read or written in its [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
