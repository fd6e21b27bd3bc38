//! A TCP connection standing in for BLE between two processes on one machine: the same GATT
//! values (chunked as over BLE, MTU [`TCP_MTU`]), each framed as `characteristic (1 byte) ||
//! length (2 bytes, big-endian) || value`, the characteristic by the last byte of its UUID's
//! first field (State 01, Client2Server 02, Server2Client 03: mdoc peripheral server mode, the
//! holder listening, the reader connecting).

use super::ble::{BleError, Characteristic, GattLink};
use super::gatt_session::GattReceive;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};

/// The MTU the TCP stand-in chunks with (the size table's BLE MTU).
pub const TCP_MTU: usize = 185;

fn code(c: Characteristic) -> u8 {
    match c {
        Characteristic::State => 0x01,
        Characteristic::Client2Server => 0x02,
        Characteristic::Server2Client => 0x03,
        Characteristic::Ident => 0x08,
    }
}

fn from_code(b: u8) -> Option<Characteristic> {
    match b {
        0x01 => Some(Characteristic::State),
        0x02 => Some(Characteristic::Client2Server),
        0x03 => Some(Characteristic::Server2Client),
        0x08 => Some(Characteristic::Ident),
        _ => None,
    }
}

/// One frame's bytes.
pub fn frame(c: Characteristic, value: &[u8]) -> Vec<u8> {
    let mut out = vec![code(c)];
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A GATT link over a TCP stream.
#[derive(Debug)]
pub struct TcpGatt {
    stream: TcpStream,
    open: bool,
}

impl TcpGatt {
    pub fn new(stream: TcpStream) -> TcpGatt {
        let _ = stream.set_nodelay(true);
        TcpGatt { stream, open: true }
    }
}

fn lost(_: std::io::Error) -> BleError {
    BleError::Disconnected { mid_message: false }
}

impl GattLink for TcpGatt {
    fn mtu(&self) -> usize {
        TCP_MTU
    }

    fn send(&mut self, characteristic: Characteristic, value: &[u8]) -> Result<(), BleError> {
        if !self.open {
            return Err(BleError::Disconnected { mid_message: false });
        }
        if value.len() + 3 > TCP_MTU {
            return Err(BleError::Platform("value longer than MTU - 3".into()));
        }
        self.stream
            .write_all(&frame(characteristic, value))
            .map_err(lost)
    }

    fn read(&mut self, _: Characteristic) -> Result<Vec<u8>, BleError> {
        // Only peripheral server mode runs over TCP: nothing is read.
        Err(BleError::Characteristic)
    }

    fn disconnect(&mut self) {
        self.open = false;
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl GattReceive for TcpGatt {
    fn receive(&mut self) -> Result<(Characteristic, Vec<u8>), BleError> {
        let mut head = [0u8; 3];
        match self.stream.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                self.open = false;
                return Err(BleError::Disconnected { mid_message: false });
            }
            Err(e) => return Err(lost(e)),
        }
        let c = from_code(head[0]).ok_or(BleError::Characteristic)?;
        let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
        if len + 3 > TCP_MTU {
            return Err(BleError::Chunk);
        }
        let mut value = vec![0u8; len];
        self.stream.read_exact(&mut value).map_err(lost)?;
        Ok((c, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdoc::cbor::Tagged24;
    use crate::mdoc::transport::ble::{BleEndpoint, BleEvent, BleMode, BleRole};
    use std::net::TcpListener;

    #[test]
    fn chunked_messages_cross_a_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let message: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let sent = message.clone();
        let client = std::thread::spawn(move || {
            let mut link = TcpGatt::new(TcpStream::connect(addr).unwrap());
            let key = Tagged24::new(vec![0xa0]);
            let mut ep = BleEndpoint::new(BleMode::PeripheralServer, BleRole::Reader, &key);
            ep.start(&mut link).unwrap();
            ep.send(&mut link, &sent).unwrap();
            ep.end(&mut link);
        });
        let (stream, _) = listener.accept().unwrap();
        let mut link = TcpGatt::new(stream);
        let key = Tagged24::new(vec![0xa0]);
        let mut ep = BleEndpoint::new(BleMode::PeripheralServer, BleRole::Holder, &key);
        let mut events = Vec::new();
        loop {
            let (c, v) = link.receive().unwrap();
            assert!(v.len() <= TCP_MTU - 3);
            if let Some(e) = ep.on_value(c, &v).unwrap() {
                let end = e == BleEvent::Ended;
                events.push(e);
                if end {
                    break;
                }
            }
        }
        assert_eq!(
            events,
            [
                BleEvent::Started,
                BleEvent::Message(message),
                BleEvent::Ended
            ]
        );
        client.join().unwrap();
        assert_eq!(
            link.receive(),
            Err(BleError::Disconnected { mid_message: false })
        );
    }
}
