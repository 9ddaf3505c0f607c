//! A loopback TCP proxy that can delay, blackhole or reset the connections
//! it carries: network faults between a client and a real server.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards them.
    Pass,
    /// Forwards each chunk after this delay.
    Delay(Duration),
    /// Reads and discards them; connections stay open and silent.
    Blackhole,
    /// Resets every connection now (RST), and each new one as it comes.
    Reset,
}

pub struct TcpProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    resets: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy on a free loopback port to `127.0.0.1:target`.
    pub async fn start(target: u16) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let resets = watch::channel(0u64).0;
        let (f, r) = (Arc::clone(&fault), resets.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (f, r) = (Arc::clone(&f), r.clone());
                tokio::spawn(async move {
                    let _ = client.set_zero_linger();
                    if *f.lock().unwrap() == Fault::Reset {
                        return;
                    }
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let _ = server.set_zero_linger();
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let up = pump(cr, sw, Arc::clone(&f), r.subscribe());
                    let down = pump(sr, cw, f, r.subscribe());
                    // Either direction ending (or a reset) drops both sockets:
                    // with a zero linger, each side sees RST.
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                    }
                });
            }
        });
        TcpProxy {
            port,
            fault,
            resets,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        if fault == Fault::Reset {
            self.resets.send_modify(|n| *n += 1);
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.set(Fault::Reset);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    fault: Arc<Mutex<Fault>>,
    mut resets: watch::Receiver<u64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = resets.changed() => return,
        };
        let now = *fault.lock().unwrap();
        match now {
            Fault::Pass => {}
            Fault::Delay(d) => tokio::time::sleep(d).await,
            Fault::Blackhole => continue,
            Fault::Reset => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
