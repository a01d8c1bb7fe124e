//! A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! NUL-terminated JSON messages on file descriptors 3 and 4), with no crate added: `sh` hands the
//! child its stdin and stdout as descriptors 3 and 4. Enough for the report's tests: open a page,
//! evaluate script in it, collect console messages, exceptions and log entries (CSP violations),
//! and take a screenshot.
//!
//! Where Chromium is missing, [`Browser::launch`] returns `None` and the test skips with a message;
//! under CI (`CI=true`) it panics instead, so CI cannot pass without the browser tests.
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// How long one protocol command may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium binary: `$TRAILHOUND_CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome` on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRAILHOUND_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// One browser with one page.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    messages: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Console messages, uncaught exceptions and log entries (CSP violations, failed loads) seen.
    pub problems: Vec<String>,
    /// Requests the page made for anything but itself (none are expected).
    pub requests: Vec<String>,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with a page of `width`×`height`; `None` (after saying why) when Chromium is
    /// absent outside CI.
    pub fn launch(width: u32, height: u32) -> Option<Browser> {
        let Some(bin) = find() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "chromium is required under CI (.ci/run installs Debian's chromium)"
            );
            eprintln!("SKIPPED: chromium not found (install Debian's chromium, or set TRAILHOUND_CHROMIUM)");
            return None;
        };
        let profile = std::env::temp_dir().join(format!(
            "trailhound-chromium-{}-{}",
            std::process::id(),
            crate::common::unique()
        ));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>&2")
            .arg(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                &format!("--window-size={width},{height}"),
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let input = child.stdin.take().expect("stdin");
        let output = child.stdout.take().expect("stdout");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(output);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            input,
            messages,
            next_id: 0,
            session: String::new(),
            problems: Vec::new(),
            requests: Vec::new(),
            profile,
        };
        let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("target id").to_owned();
        let attached = b.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().expect("session").to_owned();
        for domain in [
            "Runtime.enable",
            "Log.enable",
            "Page.enable",
            "Network.enable",
        ] {
            b.page(domain, json!({}));
        }
        b.page(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        Some(b)
    }

    /// Sends one command and waits for its answer, noting the events that arrive meanwhile.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.input.write_all(&bytes).expect("write to chromium");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) if m["id"] == id => {
                    assert!(m.get("error").is_none(), "{method}: {}", m["error"]);
                    return m["result"].clone();
                }
                Ok(m) => self.note(&m),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("chromium did not answer {method} in time")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("chromium exited during {method}"),
            }
        }
    }

    fn note(&mut self, m: &Value) {
        let p = &m["params"];
        match m["method"].as_str().unwrap_or("") {
            "Runtime.consoleAPICalled" => self.problems.push(format!(
                "console.{}: {}",
                p["type"].as_str().unwrap_or(""),
                p["args"]
            )),
            "Runtime.exceptionThrown" => self
                .problems
                .push(format!("exception: {}", p["exceptionDetails"])),
            "Log.entryAdded" => self.problems.push(format!(
                "log {}: {}",
                p["entry"]["level"].as_str().unwrap_or(""),
                p["entry"]["text"].as_str().unwrap_or("")
            )),
            "Network.requestWillBeSent" => {
                let url = p["request"]["url"].as_str().unwrap_or("").to_owned();
                if !url.starts_with("file:")
                    && !url.starts_with("about:")
                    && !url.starts_with("data:")
                {
                    self.requests.push(url);
                }
            }
            _ => {}
        }
    }

    /// A command to the page.
    pub fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.call(Some(&s), method, params)
    }

    /// Opens `path` (with `fragment`, e.g. `id=…`) and waits until the page's script marked it
    /// ready; returns the milliseconds from navigation start to ready, as the page measured.
    pub fn open(&mut self, path: &Path, fragment: &str) -> u64 {
        let url = format!("file://{}#{fragment}", path.display());
        // A fresh document each time (navigating to the same file with another fragment would not reload it).
        self.page("Page.navigate", json!({"url": "about:blank"}));
        self.page("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let ready = self.eval(
                "document.readyState === 'complete' && document.documentElement.dataset.ready || ''",
            );
            if let Some(ms) = ready.as_str().and_then(|s| s.parse().ok()) {
                return ms;
            }
            assert!(
                Instant::now() < deadline,
                "the page never became ready: {:?}",
                self.problems
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Evaluates `expr` in the page; returns its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self.page("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("png data"))
            .expect("base64");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Close it properly (its helper processes go with it), then make sure.
        let _ = self
            .input
            .write_all(b"{\"id\":999999,\"method\":\"Browser.close\",\"params\":{}}\0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
