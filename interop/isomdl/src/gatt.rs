//! The one non-standard part of these tests: `eid`'s TCP stand-in for BLE, written here from its
//! description (core/src/mdoc/transport/tcp.rs), as the Multipaz tests did in Kotlin. Each GATT
//! value is one frame `characteristic (1 byte) || length (2 bytes, big-endian) || value`; the
//! characteristic is the last byte of its UUID's first field in mdoc peripheral server mode
//! (State 0x01, Client2Server 0x02, Server2Client 0x03). Over it runs ISO/IEC 18013-5
//! §8.3.3.1.1's BLE protocol: the GATT client (the reader, here) writes 0x01 to State to start;
//! a message goes as chunks of at most MTU - 4 bytes, each value led by 0x01 (more follows) or
//! 0x00 (last); 0x02 on State ends the session. MTU 185, as `eid` uses over TCP.
//!
//! Every message that goes through it (SessionEstablishment, SessionData) is made and read by
//! isomdl.

use anyhow::{Context, Result, bail, ensure};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub const MTU: usize = 185;
const STATE: u8 = 0x01;
const CLIENT2SERVER: u8 = 0x02;
const SERVER2CLIENT: u8 = 0x03;

/// The reader's end: the GATT client in mdoc peripheral server mode.
pub struct GattClient {
    stream: TcpStream,
}

impl GattClient {
    pub fn connect(address: &str) -> Result<GattClient> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_nodelay(true)?;
        Ok(GattClient { stream })
    }

    fn frame(&mut self, characteristic: u8, value: &[u8]) -> Result<()> {
        ensure!(value.len() + 3 <= MTU, "GATT value longer than MTU - 3");
        let mut out = vec![characteristic];
        out.extend_from_slice(&u16::try_from(value.len())?.to_be_bytes());
        out.extend_from_slice(value);
        self.stream.write_all(&out)?;
        Ok(())
    }

    /// State start: the holder may send from now on.
    pub fn start(&mut self) -> Result<()> {
        self.frame(STATE, &[0x01])
    }

    /// One message on Client2Server, in chunks.
    pub fn send(&mut self, message: &[u8]) -> Result<()> {
        let mut chunks = message.chunks(MTU - 4).peekable();
        if chunks.peek().is_none() {
            return self.frame(CLIENT2SERVER, &[0x00]);
        }
        while let Some(chunk) = chunks.next() {
            let more = u8::from(chunks.peek().is_some());
            let mut value = vec![more];
            value.extend_from_slice(chunk);
            self.frame(CLIENT2SERVER, &value)?;
        }
        Ok(())
    }

    /// The holder's next message (reassembled), or `None` when it ended the session (State end
    /// or the connection closed).
    pub fn receive(&mut self) -> Result<Option<Vec<u8>>> {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 3];
            match self.stream.read_exact(&mut head) {
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
                other => other?,
            }
            let [characteristic, hi, lo] = head;
            let mut value = vec![0u8; usize::from(u16::from_be_bytes([hi, lo]))];
            ensure!(
                value.len() + 3 <= MTU,
                "the holder sent a value longer than MTU - 3"
            );
            self.stream.read_exact(&mut value)?;
            match (characteristic, value.split_first()) {
                (STATE, Some((0x02, []))) => return Ok(None),
                (SERVER2CLIENT, Some((&flag @ (0x00 | 0x01), chunk))) => {
                    message.extend_from_slice(chunk);
                    if flag == 0x00 {
                        return Ok(Some(message));
                    }
                }
                _ => bail!("the holder sent {value:02x?} on characteristic {characteristic:#04x}"),
            }
        }
    }

    /// State end; the holder closes its side.
    pub fn end(mut self) {
        let _ = self.frame(STATE, &[0x02]);
    }
}
