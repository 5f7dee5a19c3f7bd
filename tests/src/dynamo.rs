//! A private DynamoDB Local, for tests that stop the database.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use crate::{repo_root, require_stack};

/// A DynamoDB Local of a test's own, to stop at will without disturbing the
/// shared stack. Killed when dropped.
pub struct PrivateDynamo {
    pub endpoint: String,
    child: tokio::process::Child,
}

impl PrivateDynamo {
    pub async fn start() -> Self {
        require_stack();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // The project's launcher binds DynamoDB Local to loopback (the jar
        // alone listens on every interface); it execs java, so killing the
        // child stops the server.
        let child = tokio::process::Command::new("bash")
            .arg(repo_root().join("infra/stack.sh"))
            .args(["dynamodb-local", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("infra/stack.sh starts DynamoDB Local");
        let endpoint = format!("http://127.0.0.1:{port}");
        crate::eventually(
            "the private DynamoDB Local accepting connections",
            600,
            Duration::from_millis(100),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(drop)
            },
        )
        .await;
        Self { endpoint, child }
    }

    /// Stops the process and waits until it is gone.
    pub async fn stop(&mut self) {
        self.child.kill().await.expect("DynamoDB Local stops");
    }
}
