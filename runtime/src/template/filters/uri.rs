//! UriPart: one component of a URI, named like the .NET `Uri` property. Errors come back as
//! text (`[UriPart <part> error: ...]`), as Octostache returns them; text that is not a URI
//! at all is returned unchanged. Known gaps: .NET's canonicalisation (dot segments, IDN,
//! Windows paths as file URIs) is not reproduced.

const PARTS: [&str; 20] = [
    "absolutepath",
    "absoluteuri",
    "authority",
    "dnssafehost",
    "fragment",
    "host",
    "hostandport",
    "hostnametype",
    "isabsoluteuri",
    "isdefaultport",
    "isfile",
    "isloopback",
    "isunc",
    "path",
    "pathandquery",
    "port",
    "query",
    "scheme",
    "schemeandserver",
    "userinfo",
];

/// An absolute URI split into its components.
struct Uri {
    scheme: String,
    user_info: String,
    host: String,
    port: Option<u16>,
    path: String,
    query: String,
    fragment: String,
}

pub(super) fn part(input: &str, options: &[String]) -> String {
    let Some(name) = options.first() else {
        return "[UriPart error: no argument given]".into();
    };
    let key = name.to_lowercase();
    if !PARTS.contains(&key.as_str()) {
        return format!("[UriPart {name} error: argument '{name}' not supported]");
    }
    match parse(input) {
        Parsed::Absolute(uri) => component(&uri, &key),
        Parsed::Relative if key == "isabsoluteuri" => "false".into(),
        Parsed::Relative => {
            format!("[UriPart {name} error: This operation is not supported for a relative URI.]")
        }
        Parsed::Invalid => input.to_string(),
    }
}

enum Parsed {
    Absolute(Uri),
    Relative,
    Invalid,
}

fn parse(input: &str) -> Parsed {
    let text = input.trim();
    let scheme_end = text.find(':').filter(|&i| {
        let scheme = &text[..i];
        i > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let Some(scheme_end) = scheme_end else {
        return if text.contains(char::is_whitespace) && text.contains("://") {
            Parsed::Invalid
        } else {
            Parsed::Relative
        };
    };
    let scheme = text[..scheme_end].to_lowercase();
    let rest = &text[scheme_end + 1..];
    let (before_fragment, fragment) = split_keep(rest, '#');
    let (before_query, query) = split_keep(before_fragment, '?');
    let Some(after_slashes) = before_query.strip_prefix("//") else {
        let uri = Uri {
            scheme,
            user_info: String::new(),
            host: String::new(),
            port: None,
            path: before_query.into(),
            query,
            fragment,
        };
        return Parsed::Absolute(uri);
    };
    let (authority, path) = match after_slashes.find('/') {
        Some(i) => (&after_slashes[..i], &after_slashes[i..]),
        None => (after_slashes, ""),
    };
    let (user_info, host_port) = match authority.rfind('@') {
        Some(i) => (&authority[..i], &authority[i + 1..]),
        None => ("", authority),
    };
    let (host, port) = match host_port
        .rfind(':')
        .filter(|&i| !host_port[i..].contains(']'))
    {
        Some(i) => match host_port[i + 1..].parse::<u16>() {
            Ok(port) => (&host_port[..i], Some(port)),
            Err(_) if host_port[i + 1..].is_empty() => (&host_port[..i], None),
            Err(_) => return Parsed::Invalid,
        },
        None => (host_port, None),
    };
    if host.is_empty() && scheme != "file" || host.contains(char::is_whitespace) {
        return Parsed::Invalid;
    }
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    let uri = Uri {
        scheme,
        user_info: user_info.into(),
        host: host.to_lowercase(),
        port,
        path,
        query,
        fragment,
    };
    Parsed::Absolute(uri)
}

/// Splits at the first `sep`, keeping it at the start of the second part.
fn split_keep(text: &str, sep: char) -> (&str, String) {
    match text.find(sep) {
        Some(i) => (&text[..i], text[i..].to_string()),
        None => (text, String::new()),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        "ldap" => Some(389),
        "net.tcp" => Some(808),
        "gopher" => Some(70),
        "nntp" | "news" => Some(119),
        "telnet" => Some(23),
        _ => None,
    }
}

impl Uri {
    fn port_number(&self) -> i32 {
        self.port
            .or_else(|| default_port(&self.scheme))
            .map_or(-1, i32::from)
    }

    fn is_default_port(&self) -> bool {
        self.port.is_none() || self.port == default_port(&self.scheme)
    }

    fn authority(&self) -> String {
        match self.port {
            Some(port) if !self.is_default_port() => format!("{}:{port}", self.host),
            _ => self.host.clone(),
        }
    }

    fn scheme_and_server(&self) -> String {
        format!("{}://{}", self.scheme, self.authority())
    }

    fn escaped_path(&self) -> String {
        crate::escape::uri_string(&self.path).replace("%25", "%")
    }

    fn host_name_type(&self) -> &'static str {
        let host = &self.host;
        if host.is_empty() {
            "Basic"
        } else if host.starts_with('[') {
            "IPv6"
        } else if host.split('.').count() == 4 && host.split('.').all(|p| p.parse::<u8>().is_ok()) {
            "IPv4"
        } else {
            "Dns"
        }
    }
}

fn component(uri: &Uri, key: &str) -> String {
    let user_info = if uri.user_info.is_empty() {
        String::new()
    } else {
        format!("{}@", uri.user_info)
    };
    match key {
        "absolutepath" => uri.escaped_path(),
        "absoluteuri" => format!(
            "{}://{user_info}{}{}{}{}",
            uri.scheme,
            uri.authority(),
            uri.escaped_path(),
            uri.query,
            uri.fragment
        ),
        "authority" => uri.authority(),
        "dnssafehost" => uri
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        "fragment" => uri.fragment.clone(),
        "host" => uri.host.clone(),
        "hostandport" => format!("{}:{}", uri.host, uri.port_number()),
        "hostnametype" => uri.host_name_type().into(),
        "isabsoluteuri" => "true".into(),
        "isdefaultport" => uri.is_default_port().to_string(),
        "isfile" => (uri.scheme == "file").to_string(),
        "isloopback" => {
            let h = uri.host.as_str();
            (h == "localhost" || h.starts_with("127.") || h == "[::1]").to_string()
        }
        "isunc" => (uri.scheme == "file" && !uri.host.is_empty()).to_string(),
        "path" => uri.path.clone(),
        "pathandquery" => format!("{}{}", uri.escaped_path(), uri.query),
        "port" => uri.port_number().to_string(),
        "query" => uri.query.clone(),
        "scheme" => uri.scheme.clone(),
        "schemeandserver" => uri.scheme_and_server(),
        _ => uri.user_info.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::part;

    fn get(uri: &str, name: &str) -> String {
        part(uri, &[name.to_string()])
    }

    #[test]
    fn parts_of_absolute_uris() {
        assert_eq!(
            get("https://octopus.com/docs?filter=faq", "PathAndQuery"),
            "/docs?filter=faq"
        );
        assert_eq!(get("https://octopus.com/docs", "Port"), "443");
        assert_eq!(
            get("https://octopus.com:8443/docs#x", "Authority"),
            "octopus.com:8443"
        );
        assert_eq!(get("https://octopus.com:8443/docs#x", "Fragment"), "#x");
        assert_eq!(
            get("https://username:password@octopus.com", "UserInfo"),
            "username:password"
        );
        assert_eq!(get("http://127.0.0.1/", "HostNameType"), "IPv4");
        assert_eq!(get("https://octopus.com/docs", "Path"), "/docs");
        assert_eq!(
            get("https://octopus.com/docs", "HostAndPort"),
            "octopus.com:443"
        );
        assert_eq!(
            get("https://octopus.com/docs", "SchemeAndServer"),
            "https://octopus.com"
        );
    }

    #[test]
    fn relative_and_errors() {
        assert_eq!(get("/docs", "IsAbsoluteUri"), "false");
        assert_eq!(
            get("/docs", "Host"),
            "[UriPart Host error: This operation is not supported for a relative URI.]"
        );
        assert_eq!(part("x", &[]), "[UriPart error: no argument given]");
    }
}
