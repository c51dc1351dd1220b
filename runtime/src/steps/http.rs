//! Plain-TCP networking shared by the `check` step (`tcp`, `http`) and the `http-wait` step:
//! connecting to a host with a timeout, and a minimal HTTP/1.1 GET that sends one request with
//! `Connection: close` and reads only the status line.
//!
//! Not supported, on purpose: TLS (`https://` URLs are refused with a hint, so the runtime stays
//! free of TLS crates), proxies, redirects (a 3xx is just a status) and credentials in URLs.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The most bytes read while looking for the status line.
const STATUS_LINE_LIMIT: u64 = 8 * 1024;

/// Why a connection or an HTTP GET failed; each message names the target and what to do.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "{url}: `https://` URLs are not supported by this runtime (it carries no TLS); \
         use a `tcp` check on the host and port instead"
    )]
    TlsUnsupported { url: String },
    #[error("{url} is not a usable URL: {reason}; write it as `http://host[:port]/path`")]
    BadUrl { url: String, reason: String },
    #[error("cannot resolve host `{host}`: {detail}; check the name and the DNS settings")]
    Resolve { host: String, detail: String },
    #[error("cannot connect to {target}: {detail}; check that it is up and the firewall allows it")]
    Connect { target: String, detail: String },
    #[error("{url}: {source} while talking to the server")]
    Io { url: String, source: io::Error },
    #[error("{url} did not answer with an HTTP status line (got {line:?})")]
    BadResponse { url: String, line: String },
}

impl NetError {
    /// True when retrying cannot help: the URL itself is unusable.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            NetError::TlsUnsupported { .. } | NetError::BadUrl { .. }
        )
    }
}

/// The parts of an `http://` URL a GET needs.
#[derive(Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The `Host` header value.
    pub authority: String,
}

/// `host:port`, with brackets around an IPv6 address.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits an `http://` URL; refuses `https://` and anything that is not a plain HTTP URL.
pub fn parse_url(url: &str) -> Result<HttpUrl, NetError> {
    let bad = |reason: &str| NetError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| bad("it has no `http://`"))?;
    if scheme.eq_ignore_ascii_case("https") {
        return Err(NetError::TlsUnsupported {
            url: url.to_owned(),
        });
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(bad(&format!("the scheme `{scheme}` is not `http`")));
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not supported"));
    }
    let (host, port) = split_authority(authority).map_err(|reason| bad(&reason))?;
    let path = match path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    Ok(HttpUrl {
        host,
        port,
        path,
        authority: authority.to_owned(),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` into host (no brackets) and port (default 80).
fn split_authority(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or("the `[` of an IPv6 address is not closed")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("the host is missing".to_owned());
    }
    let port = match port {
        None => 80,
        Some(text) => match text.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("the port `{text}` is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

/// Connects to the first of `host`'s addresses that accepts, trying each with `timeout`.
pub fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), NetError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| NetError::Resolve {
            host: host.to_owned(),
            detail: e.to_string(),
        })?
        .collect();
    let mut failures = Vec::new();
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => return Ok((stream, *addr)),
            Err(e) => failures.push(format!("{addr}: {e}")),
        }
    }
    let detail = if failures.is_empty() {
        "the name has no addresses".to_owned()
    } else {
        failures.join("; ")
    };
    Err(NetError::Connect {
        target: host_port(host, port),
        detail,
    })
}

/// Sends `GET` to an `http://` URL and returns the answer's status code.
pub fn get_status(url: &str, timeout: Duration) -> Result<u16, NetError> {
    let target = parse_url(url)?;
    let (stream, _) = connect(&target.host, target.port, timeout)?;
    let io_err = |source| NetError::Io {
        url: url.to_owned(),
        source,
    };
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: dropship\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.path, target.authority
    );
    (&stream).write_all(request.as_bytes()).map_err(io_err)?;
    let mut line = Vec::new();
    BufReader::new((&stream).take(STATUS_LINE_LIMIT))
        .read_until(b'\n', &mut line)
        .map_err(io_err)?;
    let line = String::from_utf8_lossy(&line).trim_end().to_owned();
    parse_status_line(&line).ok_or_else(|| NetError::BadResponse {
        url: url.to_owned(),
        line,
    })
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    let version = words.next()?;
    let code = words.next()?;
    let code = code
        .parse::<u16>()
        .ok()
        .filter(|c| (100..=999).contains(c))?;
    version.starts_with("HTTP/").then_some(code)
}

/// A tiny HTTP server on 127.0.0.1 for tests: answers one connection per status, in order.
#[cfg(test)]
pub(crate) mod test_server {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver};
    use std::thread;
    use std::time::Duration;

    /// Serves `statuses` (one connection each) at the returned URL (path `/health`); the
    /// receiver gets each request's head.
    pub(crate) fn serve(statuses: &[u16]) -> (String, Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        let statuses = statuses.to_vec();
        let (heads, received) = mpsc::channel();
        thread::spawn(move || {
            for code in statuses {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let _ = heads.send(answer(stream, code));
            }
        });
        (url, received)
    }

    fn answer(mut stream: TcpStream, code: u16) -> String {
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut head = String::new();
        let mut reader = BufReader::new(&stream);
        while reader.read_line(&mut head).is_ok_and(|n| n > 0) && !head.ends_with("\r\n\r\n") {}
        let _ = write!(
            stream,
            "HTTP/1.1 {code} Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str, authority: &str) -> HttpUrl {
        HttpUrl {
            host: host.into(),
            port,
            path: path.into(),
            authority: authority.into(),
        }
    }

    #[test]
    fn parses_http_urls() {
        let cases = [
            (
                "http://example.internal",
                url("example.internal", 80, "/", "example.internal"),
            ),
            (
                "HTTP://h:8080/a/b?x=1#frag",
                url("h", 8080, "/a/b?x=1", "h:8080"),
            ),
            ("http://h?q", url("h", 80, "/?q", "h")),
            ("http://[::1]:81/x", url("::1", 81, "/x", "[::1]:81")),
            ("http://[::1]/", url("::1", 80, "/", "[::1]")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_url(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn refuses_https_and_bad_urls() {
        assert!(matches!(
            parse_url("https://h/"),
            Err(NetError::TlsUnsupported { .. })
        ));
        for bad in [
            "h/x",
            "ftp://h/",
            "http://",
            "http://h:0/",
            "http://h:99999/",
            "http://u:p@h/",
            "http://[::1",
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, NetError::BadUrl { .. }), "{bad}: {err}");
            assert!(err.is_permanent());
        }
    }

    #[test]
    fn reads_the_status_and_sends_connection_close() {
        let (url, heads) = test_server::serve(&[204]);
        assert_eq!(get_status(&url, Duration::from_secs(2)).unwrap(), 204);
        let head = heads.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(head.starts_with("GET /health HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_line("HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line("HTTP/1.1 200"), Some(200));
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line("HTTP/1.1 abc"), None);
        assert_eq!(parse_status_line(""), None);
    }
}
