//! A private MongoDB-protocol server that a test may kill and start again on
//! the same port, for outage and restart tests (the shared one must stay up).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::service_env;

pub struct PrivateMongo {
    pub port: u16,
    /// Holds the server's log and, on disk, its data.
    dir: tempfile::TempDir,
    on_disk: bool,
    child: Option<Child>,
    starts: u32,
}

impl PrivateMongo {
    /// Data lives as long as the process: a restart starts empty.
    pub fn in_memory() -> Self {
        Self::launch(false)
    }

    /// Data lives in a temporary directory and survives restarts.
    pub fn on_disk() -> Self {
        Self::launch(true)
    }

    fn launch(on_disk: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut mongo = PrivateMongo { port: 0, dir, on_disk, child: None, starts: 0 };
        // A free port can be taken by someone else before the server binds
        // it; then pick another.
        for _ in 0..5 {
            mongo.port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if mongo.try_start() {
                return mongo;
            }
        }
        panic!("private MongoDB found no free port");
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Starts the server again on its port and storage.
    pub fn start(&mut self) {
        assert!(self.try_start(), "port {} was taken while the private MongoDB was down", self.port);
    }

    /// Starts the server; true once it listens, false if it could not bind
    /// its port. Readiness is the server's own "listening" line, not a
    /// connection to the port, which another process might hold.
    fn try_start(&mut self) -> bool {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let storage = if self.on_disk {
            self.dir.path().join("data").to_str().expect("UTF-8 temporary path").to_owned()
        } else {
            ":memory:".to_owned()
        };
        let log_path = self.dir.path().join(format!("mongod-{}.log", self.starts));
        let log = std::fs::File::create(&log_path).expect("a log file");
        let port = self.port.to_string();
        let mut child = Command::new(service_env("ENDORSE_TEST_MONGOD_BIN"))
            .args(["--host", "127.0.0.1", "--port", &port, "--storage-path", &storage, "--log-level", "INFO"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the MongoDB-protocol server starts");
        let listening = format!("listening on 127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains(&listening) {
                self.child = Some(child);
                return true;
            }
            if child.try_wait().expect("child status").is_some() {
                eprintln!("private MongoDB on port {port} exited at start:\n{log}");
                return false;
            }
            assert!(Instant::now() < deadline, "private MongoDB did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no clean shutdown, connections drop mid-operation.
    /// Freezes the server (SIGSTOP): connections stay open, nothing answers,
    /// as with a database stuck on a slow operation.
    pub fn pause(&self) {
        self.signal("-STOP");
        // The signal is delivered asynchronously: wait until the kernel shows
        // the process stopped, so that no request sent after this returns
        // can still be answered.
        let pid = self.child.as_ref().expect("running").id();
        let stopped = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('T')))
                .unwrap_or(false)
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !stopped() {
            assert!(std::time::Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("running");
        let status = Command::new("kill").arg(signal).arg(child.id().to_string()).status().expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMongo {
    fn drop(&mut self) {
        self.kill();
    }
}
