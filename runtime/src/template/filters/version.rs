//! Version filters (`VersionMajor` ... `VersionMetadata`): the input is parsed like
//! Octopus.Versioning's `OctopusVersionParser` (an optional `v`, up to four numbers, a
//! pre-release `prefix[.-_\]counter`, `+metadata`, whitespace tolerated around numbers).

use std::sync::LazyLock;

use regex::Regex;

static VERSION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\s*(?:\s*(?P<prefix>v|V)?\s*(?P<major>\d+\b)\s*",
        r"(?:\.\s*(?P<minor>\d+\b)\s*)?",
        r"(?:\.\s*(?P<patch>\d+\b)\s*)?",
        r"(?:\.\s*(?P<revision>\d+\b)\s*)?)?",
        r"(?:[.\-_\\])?(?P<prerelease>(?P<prereleaseprefix>[A-Za-z0-9]*?)",
        r"(?:[.\-_\\](?P<prereleasecounter>[A-Za-z0-9.\-_\\]*?)?)?)?",
        r"(?:\+(?P<buildmetadata>[A-Za-z0-9_\-.\\+]*?))?\s*$",
    ))
    .ok()
});

/// The part named by the rest of the filter name (`major`, `prerelease`, ...). `Err` where
/// Octostache throws: blank or unparseable input, or a number too large.
pub(super) fn part(part: &str, input: &str, options: &[String]) -> Result<Option<String>, String> {
    let group = match part {
        "major" | "minor" | "patch" | "revision" => part,
        "prerelease" => "prerelease",
        "prereleaseprefix" => "prereleaseprefix",
        "prereleasecounter" => "prereleasecounter",
        "metadata" => "buildmetadata",
        _ => return Ok(None),
    };
    if !options.is_empty() {
        return Ok(None);
    }
    if input.trim().is_empty() {
        return Err("the version can not be an empty string".into());
    }
    let caps = VERSION
        .as_ref()
        .and_then(|re| re.captures(input))
        .ok_or_else(|| format!("the supplied version '{input}' was not valid"))?;
    let text = caps.name(group).map_or("", |m| m.as_str());
    if matches!(group, "major" | "minor" | "patch" | "revision") {
        let number = if text.is_empty() {
            0
        } else {
            text.parse::<i32>().map_err(|e| e.to_string())?
        };
        return Ok(Some(number.to_string()));
    }
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::part;

    fn get(p: &str, v: &str) -> Option<String> {
        part(p, v, &[]).ok().flatten()
    }

    #[test]
    fn parses_octopus_versions() {
        assert_eq!(
            get("major", "V1.2.3.4-branch_hithere+meta"),
            Some("1".into())
        );
        assert_eq!(
            get("prereleaseprefix", "V1.2.3.4-branch_hithere+meta"),
            Some("branch".into())
        );
        assert_eq!(
            get("prereleasecounter", "284.0.0-debian_component_based"),
            Some("component_based".into())
        );
        assert_eq!(get("prerelease", "19.0.0.Final"), Some("Final".into()));
        assert_eq!(get("metadata", "latest"), Some(String::new()));
        assert_eq!(get("revision", "v1"), Some("0".into()));
        assert!(part("major", " ", &[]).is_err());
    }

    #[test]
    fn upstream_version_table() {
        let parts = [
            "major",
            "minor",
            "patch",
            "revision",
            "prerelease",
            "prereleaseprefix",
            "prereleasecounter",
            "metadata",
        ];
        let rows = [
            ["1", "1", "0", "0", "0", "", "", "", ""],
            ["1.2", "1", "2", "0", "0", "", "", "", ""],
            ["1.2.3", "1", "2", "3", "0", "", "", "", ""],
            ["1.2.3.4", "1", "2", "3", "4", "", "", "", ""],
            [
                "1.2.3.4-branch.1",
                "1",
                "2",
                "3",
                "4",
                "branch.1",
                "branch",
                "1",
                "",
            ],
            [
                "1.2.3.4-branch.1+meta",
                "1",
                "2",
                "3",
                "4",
                "branch.1",
                "branch",
                "1",
                "meta",
            ],
            [
                "v1.2.3.4-branch.1+meta",
                "1",
                "2",
                "3",
                "4",
                "branch.1",
                "branch",
                "1",
                "meta",
            ],
            [
                "V1.2.3.4-branch.1+meta",
                "1",
                "2",
                "3",
                "4",
                "branch.1",
                "branch",
                "1",
                "meta",
            ],
            [
                "V1.2.3.4-branch.hithere+meta",
                "1",
                "2",
                "3",
                "4",
                "branch.hithere",
                "branch",
                "hithere",
                "meta",
            ],
            [
                "V1.2.3.4-branch-hithere+meta",
                "1",
                "2",
                "3",
                "4",
                "branch-hithere",
                "branch",
                "hithere",
                "meta",
            ],
            [
                "V1.2.3.4-branch_hithere+meta",
                "1",
                "2",
                "3",
                "4",
                "branch_hithere",
                "branch",
                "hithere",
                "meta",
            ],
            [
                "19.0.0.Final",
                "19",
                "0",
                "0",
                "0",
                "Final",
                "Final",
                "",
                "",
            ],
            [
                "284.0.0-debian_component_based",
                "284",
                "0",
                "0",
                "0",
                "debian_component_based",
                "debian",
                "component_based",
                "",
            ],
            ["latest", "0", "0", "0", "0", "latest", "latest", "", ""],
            ["v1", "1", "0", "0", "0", "", "", "", ""],
            ["v1.2.3", "1", "2", "3", "0", "", "", "", ""],
        ];
        for row in rows {
            for (i, p) in parts.iter().enumerate() {
                assert_eq!(
                    get(p, row[0]).as_deref(),
                    Some(row[i + 1]),
                    "{} {p}",
                    row[0]
                );
            }
        }
    }
}
