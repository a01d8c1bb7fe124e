//! Writers for the two output forms: the S3 layout of an organisation trail, and one NDJSON stream.
//!
//! S3 layout, as CloudTrail delivers it (and as `shared/datasets/sans504-s3-ransomware` shows):
//! `AWSLogs/<org-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz`,
//! each file `{"Records":[…]}` gzipped, several files per account, region and 5-minute window. Hourly
//! digest files go to `…/CloudTrail-Digest/<region>/…/<account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHMMSSZ>.json.gz`
//! with the SHA-256 of each log file's uncompressed content, as CloudTrail log file integrity
//! validation writes them (the signature itself lives in S3 object metadata, which files cannot carry).
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use super::clock;

/// Where finished files go.
pub(crate) trait Sink {
    /// The separator between records in a body (`,` inside `{"Records":[…]}`, a newline for NDJSON).
    fn separator(&self) -> char;
    /// Writes one log file for an account and region: `body` is its records joined by the separator.
    #[allow(clippy::too_many_arguments)]
    fn log_file(
        &mut self,
        account: &str,
        region: &str,
        stamp: i64,
        unique: &str,
        body: &str,
        oldest: i64,
        newest: i64,
    ) -> io::Result<()>;
    /// Called at each hour boundary (digest files).
    fn hour(&mut self, end: i64) -> io::Result<()>;
    /// Flushes everything.
    fn finish(&mut self) -> io::Result<()>;
    /// Bytes written so far (compressed where compressed).
    fn bytes(&self) -> u64;
    /// Files written so far.
    fn files(&self) -> u64;
}

struct DigestEntry {
    key: String,
    hash: String,
    oldest: i64,
    newest: i64,
}

/// The S3 layout under a directory.
pub(crate) struct S3Layout {
    root: PathBuf,
    org: String,
    bucket: String,
    trail: String,
    level: u32,
    digests: bool,
    made: std::collections::HashSet<PathBuf>,
    /// Per (account, region): log files of the current hour, and the previous digest's key.
    pending: std::collections::BTreeMap<(String, String), (Vec<DigestEntry>, Option<String>)>,
    bytes: u64,
    files: u64,
    last_hour_start: Option<i64>,
}

impl S3Layout {
    /// A writer rooted at `root` for organisation `org`, gzip level `level`, with or without digests.
    pub(crate) fn new(root: &Path, org: &str, level: u32, digests: bool) -> S3Layout {
        S3Layout {
            root: root.to_path_buf(),
            org: org.to_string(),
            bucket: format!("aws-controltower-logs-{}", &org[2..]),
            trail: "organization-trail".to_string(),
            level,
            digests,
            made: Default::default(),
            pending: Default::default(),
            bytes: 0,
            files: 0,
            last_hour_start: None,
        }
    }

    fn dir(
        &mut self,
        kind: &str,
        account: &str,
        region: &str,
        stamp: i64,
    ) -> io::Result<(PathBuf, String)> {
        let mut rel = format!("AWSLogs/{}/{account}/{kind}/{region}/", self.org);
        clock::date_path(&mut rel, stamp);
        let dir = self.root.join(&rel);
        if !self.made.contains(&dir) {
            fs::create_dir_all(&dir)?;
            self.made.insert(dir.clone());
        }
        Ok((dir, rel))
    }

    fn write_gz(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        let file = BufWriter::with_capacity(1 << 16, File::create(path)?);
        let mut gz = GzEncoder::new(file, Compression::new(self.level));
        gz.write_all(data)?;
        let mut file = gz.finish()?;
        file.flush()?;
        self.bytes += file.get_ref().metadata().map(|m| m.len()).unwrap_or(0);
        self.files += 1;
        Ok(())
    }
}

impl Sink for S3Layout {
    fn separator(&self) -> char {
        ','
    }

    fn log_file(
        &mut self,
        account: &str,
        region: &str,
        stamp: i64,
        unique: &str,
        body: &str,
        oldest: i64,
        newest: i64,
    ) -> io::Result<()> {
        let (dir, rel) = self.dir("CloudTrail", account, region, stamp)?;
        let mut name = format!("{account}_CloudTrail_{region}_");
        clock::file_stamp(&mut name, stamp);
        name.push('_');
        name.push_str(unique);
        name.push_str(".json.gz");
        let file = BufWriter::with_capacity(1 << 16, File::create(dir.join(&name))?);
        let mut gz = GzEncoder::new(file, Compression::new(self.level));
        let mut hasher = self.digests.then(Sha256::new);
        // Three large writes: the body is already the records joined by commas.
        for part in [&b"{\"Records\":["[..], body.as_bytes(), b"]}"] {
            if let Some(h) = hasher.as_mut() {
                h.update(part);
            }
            gz.write_all(part)?;
        }
        let mut file = gz.finish()?;
        file.flush()?;
        self.bytes += file.get_ref().metadata().map(|m| m.len()).unwrap_or(0);
        self.files += 1;
        if let Some(h) = hasher {
            let entry = DigestEntry {
                key: format!("{rel}/{name}"),
                hash: hex(&h.finalize()),
                oldest,
                newest,
            };
            self.pending
                .entry((account.to_string(), region.to_string()))
                .or_insert_with(|| (vec![], None))
                .0
                .push(entry);
        }
        Ok(())
    }

    fn hour(&mut self, end: i64) -> io::Result<()> {
        let start = end - 3600;
        let first = self.last_hour_start.is_none();
        self.last_hour_start = Some(start);
        if !self.digests {
            return Ok(());
        }
        let keys: Vec<(String, String)> = self.pending.keys().cloned().collect();
        for (account, region) in keys {
            let (entries, previous) = match self.pending.get_mut(&(account.clone(), region.clone()))
            {
                Some(p) => (std::mem::take(&mut p.0), p.1.clone()),
                None => continue,
            };
            let (dir, rel) = self.dir("CloudTrail-Digest", &account, &region, end)?;
            let mut name = format!(
                "{account}_CloudTrail-Digest_{region}_{}_{region}_",
                self.trail
            );
            clock::digest_stamp(&mut name, end);
            name.push_str(".json.gz");
            let body = digest_json(
                &DigestHead {
                    account: &account,
                    bucket: &self.bucket,
                    key: &format!("{rel}/{name}"),
                    start,
                    end,
                    previous: previous.as_deref(),
                    first,
                },
                &entries,
            );
            self.write_gz(&dir.join(&name), body.as_bytes())?;
            if let Some(p) = self.pending.get_mut(&(account, region)) {
                p.1 = Some(format!("{rel}/{name}"));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn files(&self) -> u64 {
        self.files
    }
}

struct DigestHead<'a> {
    account: &'a str,
    bucket: &'a str,
    key: &'a str,
    start: i64,
    end: i64,
    previous: Option<&'a str>,
    first: bool,
}

fn digest_json(h: &DigestHead<'_>, entries: &[DigestEntry]) -> String {
    let t = clock::iso_string;
    let mut o = format!(
        "{{\"awsAccountId\":\"{}\",\"digestStartTime\":\"{}\",\"digestEndTime\":\"{}\",\"digestS3Bucket\":\"{}\",\"digestS3Object\":\"{}\",\"digestPublicKeyFingerprint\":\"{}\",\"digestSignatureAlgorithm\":\"SHA256withRSA\",",
        h.account,
        t(h.start),
        t(h.end),
        h.bucket,
        h.key,
        "8d1ab0f3c4e5d6a7b8c9d0e1f2a3b4c5"
    );
    let oldest = entries.iter().map(|e| e.oldest).min();
    let newest = entries.iter().map(|e| e.newest).max();
    if let (Some(a), Some(b)) = (oldest, newest) {
        o.push_str(&format!(
            "\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\",",
            t(b),
            t(a)
        ));
    }
    match (h.previous, h.first) {
        (Some(p), _) => o.push_str(&format!("\"previousDigestS3Bucket\":\"{}\",\"previousDigestS3Object\":\"{p}\",\"previousDigestHashValue\":\"{}\",\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"{}\",", h.bucket, hex(&Sha256::digest(p.as_bytes())), hex(&Sha256::digest(h.key.as_bytes())))),
        (None, _) => o.push_str("\"previousDigestS3Bucket\":null,\"previousDigestS3Object\":null,\"previousDigestHashValue\":null,\"previousDigestHashAlgorithm\":null,\"previousDigestSignature\":null,"),
    }
    o.push_str("\"logFiles\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(&format!("{{\"s3Bucket\":\"{}\",\"s3Object\":\"{}\",\"hashValue\":\"{}\",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\"}}", h.bucket, e.key, e.hash, t(e.newest), t(e.oldest)));
    }
    o.push_str("]}");
    o
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// One NDJSON stream (`events.ndjson`, or `events.ndjson.gz`), records in delivery order.
pub(crate) struct Ndjson {
    out: Box<dyn Write>,
    bytes: u64,
    files: u64,
}

impl Ndjson {
    /// A stream into `path`; gzipped when the name ends in `.gz`.
    pub(crate) fn create(path: &Path, level: u32) -> io::Result<Ndjson> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let out: Box<dyn Write> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(GzEncoder::new(file, Compression::new(level)))
        } else {
            Box::new(file)
        };
        Ok(Ndjson {
            out,
            bytes: 0,
            files: 1,
        })
    }
}

impl Sink for Ndjson {
    fn separator(&self) -> char {
        '\n'
    }

    fn log_file(
        &mut self,
        _account: &str,
        _region: &str,
        _stamp: i64,
        _unique: &str,
        body: &str,
        _oldest: i64,
        _newest: i64,
    ) -> io::Result<()> {
        self.out.write_all(body.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += body.len() as u64 + 1;
        Ok(())
    }

    fn hour(&mut self, _end: i64) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn files(&self) -> u64 {
        self.files
    }
}
