//! The identifier stream, `GET /messages/stream/identifiers`: the upgrade and the per-socket loop.
//!
//! The connection thread that read the upgrade request becomes the socket's thread. It interleaves three
//! things: frames from the store's change channel, whatever the client sends (pings are answered, a Close
//! is completed), and the stop and drop requests. The thread waits on the change channel, which wakes it
//! the moment a change is published; what the client sent is then read without blocking. (An earlier
//! version waited in a socket read with a 5 ms timeout instead, but the kernel rounds such timeouts up to
//! its tick, so a change published during that read waited ~10 ms: longer than everything else an event
//! costs together.)

use std::io::{self, Write as _};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocket};
use tungstenite::{Error as WsError, Message};

use super::backlog::{Backlog, Next};
use super::faults::DropMode;
use super::http::{self, Connection, RequestHead, Response};
use super::Shared;

/// How long a read waits for the client while the thread waits for nothing else (the closing handshake).
const READ_TICK: Duration = Duration::from_millis(5);

/// How long the thread waits for a change to send before it looks at what the client sent and at the
/// stop and drop requests. A change wakes it at once.
const SEND_TICK: Duration = Duration::from_millis(10);

/// How long a Close we send waits for the client's Close reply before the socket is shut down anyway.
const CLOSE_WAIT_DROP: Duration = Duration::from_secs(1);
const CLOSE_WAIT_STOP: Duration = Duration::from_millis(200);

/// The most client messages handled between two looks at the change channel, so that a chatty client
/// cannot starve the stream.
const READS_PER_TICK: usize = 64;

/// What `drop_websockets` sets on each open socket: 0 nothing, else a [`DropMode`] plus one.
#[derive(Debug, Default)]
pub(crate) struct WsControl {
    drop: AtomicU8,
}

impl WsControl {
    pub(crate) fn request_drop(&self, mode: DropMode) {
        let value = match mode {
            DropMode::Close => 1,
            DropMode::Cut => 2,
        };
        self.drop.store(value, Ordering::SeqCst);
    }

    fn take_drop(&self) -> Option<DropMode> {
        match self.drop.swap(0, Ordering::SeqCst) {
            1 => Some(DropMode::Close),
            2 => Some(DropMode::Cut),
            _ => None,
        }
    }
}

/// Whether a request asks for a WebSocket (`Upgrade: websocket` and `Connection: upgrade`).
pub(crate) fn is_upgrade(head: &RequestHead) -> bool {
    head.has_token("upgrade", "websocket") && head.has_token("connection", "upgrade")
}

/// Completes the upgrade and runs the socket until it ends.
pub(crate) fn serve(shared: &Shared, conn_id: u64, mut conn: Connection, head: &RequestHead) {
    let refusal = if head.minor_version < 1 {
        Some(Response::text(400, "a WebSocket upgrade needs HTTP/1.1"))
    } else if head.header("sec-websocket-version") != Some(b"13") {
        Some(
            Response::text(426, "unsupported Sec-WebSocket-Version (only 13)")
                .with_header("Sec-WebSocket-Version", "13"),
        )
    } else if head
        .header("sec-websocket-key")
        .is_none_or(|key| key.trim_ascii().is_empty())
    {
        Some(Response::text(400, "missing Sec-WebSocket-Key"))
    } else if shared.stopping() {
        Some(Response::text(503, "the server is stopping"))
    } else {
        None
    };
    if let Some(response) = refusal {
        let _ = http::write_response(&mut conn.stream, &response.closing(), false, false);
        return;
    }
    let key = head.header("sec-websocket-key").unwrap_or_default().trim_ascii();
    let control = shared.register_websocket(conn_id);
    // Subscribe before answering, so that every change after the first frame's list reaches this socket.
    let (first, changes) = shared.store.subscribe(shared.max_backlog_bytes);
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key)
    );
    if conn.stream.write_all(answer.as_bytes()).is_err() || conn.stream.flush().is_err() {
        return;
    }
    let early = conn.take_buffered();
    let stream = conn.stream;
    if stream.set_read_timeout(Some(READ_TICK)).is_err() {
        return;
    }
    let mut socket = StreamSocket {
        ws: WebSocket::from_partially_read(stream, early, Role::Server, None),
        frames_sent: 0,
    };
    let end = socket.run(shared, &control, first, &changes);
    match end {
        End::Drop(DropMode::Close) => socket.close("injected fault: WebSocket dropped", CLOSE_WAIT_DROP),
        End::Drop(DropMode::Cut) | End::Gone => {}
        End::Stopping => socket.close("server stopping", CLOSE_WAIT_STOP),
        End::Behind => {
            // The client is not reading: the Close frame gets a short chance, the reply none.
            let _ = socket
                .ws
                .get_ref()
                .set_write_timeout(Some(Duration::from_millis(100)));
            socket.close_with(
                CloseCode::Policy,
                "too far behind: reconnect for a full frame",
                Duration::ZERO,
            );
        }
    }
    let _ = socket.ws.get_ref().shutdown(Shutdown::Both);
}

/// Why the loop ended.
enum End {
    /// Drop the socket on purpose, this way.
    Drop(DropMode),
    /// The server is stopping: say goodbye.
    Stopping,
    /// The client closed or the socket failed: nothing left to say.
    Gone,
    /// The client fell more than the backlog limit behind.
    Behind,
}

struct StreamSocket {
    ws: WebSocket<std::net::TcpStream>,
    frames_sent: u64,
}

impl StreamSocket {
    /// Sends one text frame; `Err` with how the loop must end.
    fn send(&mut self, shared: &Shared, frame: &str) -> Result<(), End> {
        self.ws.send(Message::text(frame)).map_err(|_| End::Gone)?;
        self.frames_sent += 1;
        match shared.faults.ws_drop_due(self.frames_sent) {
            Some(mode) => Err(End::Drop(mode)),
            None => Ok(()),
        }
    }

    fn run(&mut self, shared: &Shared, control: &WsControl, first: Arc<str>, changes: &Backlog) -> End {
        if let Err(end) = self.send(shared, &first) {
            return end;
        }
        loop {
            if shared.stopping() {
                return End::Stopping;
            }
            if let Some(mode) = control.take_drop() {
                return End::Drop(mode);
            }
            match changes.next(SEND_TICK) {
                Next::Frame(frame) => {
                    if let Err(end) = self.send(shared, &frame) {
                        return end;
                    }
                }
                Next::Nothing => {}
                Next::Behind => return End::Behind,
                Next::Closed => return End::Stopping,
            }
            if let Err(end) = self.read_available() {
                return end;
            }
        }
    }

    /// Handles what the client has sent so far (at most [`READS_PER_TICK`] messages), without waiting for
    /// more: the socket is non-blocking for the duration, so that a change published meanwhile is not
    /// held up behind a read timeout.
    fn read_available(&mut self) -> Result<(), End> {
        if self.ws.get_ref().set_nonblocking(true).is_err() {
            return Err(End::Gone);
        }
        let result = self.read_messages();
        // Sends block again, so that a large frame is written whole.
        if self.ws.get_ref().set_nonblocking(false).is_err() {
            return Err(End::Gone);
        }
        result
    }

    fn read_messages(&mut self) -> Result<(), End> {
        for _ in 0..READS_PER_TICK {
            match self.ws.read() {
                // Tungstenite has queued the Close reply; flushing sends it and ends the handshake.
                Ok(Message::Close(_)) => {
                    let _ = self.ws.get_ref().set_nonblocking(false);
                    let _ = self.ws.flush();
                    return Err(End::Gone);
                }
                // Pings are answered by tungstenite on the next read or flush (a pong that could not
                // be written without blocking stays queued for the next send); other messages mean
                // nothing on this stream.
                Ok(_) => {}
                Err(WsError::Io(error)) if is_timeout(&error) => break,
                Err(_) => return Err(End::Gone),
            }
        }
        Ok(())
    }

    /// Sends a Close frame (1001, going away) and waits up to `wait` for the client's reply, so that the
    /// client sees a complete closing handshake rather than a reset.
    fn close(&mut self, reason: &'static str, wait: Duration) {
        self.close_with(CloseCode::Away, reason, wait);
    }

    /// Sends a Close frame with `code` and waits up to `wait` for the client's reply.
    fn close_with(&mut self, code: CloseCode, reason: &'static str, wait: Duration) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self.ws.close(Some(frame)).is_err() {
            return;
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(_) => {}
                Err(WsError::Io(error)) if is_timeout(&error) => {}
                Err(_) => return,
            }
        }
    }
}

/// A read that found nothing within the socket's read timeout (`WouldBlock` on Unix, `TimedOut` on
/// Windows).
fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
