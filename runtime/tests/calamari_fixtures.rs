//! Calamari's own structured-variables fixtures (`tests/calamari-fixtures/`, see its README for
//! the Calamari commit), run through the library's replacer exactly as Calamari's tests run
//! theirs: the sample copied to a temporary file, the variables applied, the result compared with
//! Calamari's approved file.
//!
//! "Same data": the same bytes, or, where dropship keeps the original layout and Calamari
//! re-serialises, the same parsed document (JSON value, YAML documents, XML infoset without
//! indentation) in the same encoding. Every rewritten YAML file must also parse. The test prints
//! the pass count per replacer and fails on any case that is not listed in `KNOWN_GAPS`, and on
//! a listed gap that passes (so the list stays honest).

use std::path::{Path, PathBuf};

use dropship_runtime::config::{
    ConfigError, StructuredOptions, StructuredVariable, TextFile, replace_structured,
};
use dropship_runtime::template::Variables;

/// One Calamari test: its fixture class, test name, sample and variables (`None` is null).
struct Case {
    class: &'static str,
    test: &'static str,
    sample: &'static str,
    vars: &'static [(&'static str, Option<&'static str>)],
}

const fn case(
    class: &'static str,
    test: &'static str,
    sample: &'static str,
    vars: &'static [(&'static str, Option<&'static str>)],
) -> Case {
    Case {
        class,
        test,
        sample,
        vars,
    }
}

const JSON: &str = "JsonFormatVariableReplacerFixture";
const YAML: &str = "YamlVariableReplacerFixture";
const XML: &str = "XmlVariableReplacerFixture";
const PROPS: &str = "PropertiesVariableReplacerFixture";

/// Cases Calamari's fixtures have that dropship does not pass yet: `class.test` and why.
const KNOWN_GAPS: &[(&str, &str)] = &[];

const CASES: &[Case] = &[
    // JsonFormatVariableReplacerFixture
    case(
        JSON,
        "DoesNothingIfThereAreNoVariables",
        "appsettings.simple.json",
        &[],
    ),
    case(
        JSON,
        "ShouldReplaceInSimpleFile",
        "appsettings.simple.json",
        &[
            ("MyMessage", Some("Hello world")),
            ("EmailSettings:SmtpHost", Some("localhost")),
            ("EmailSettings:SmtpPort", Some("23")),
            (
                "EmailSettings:DefaultRecipients:To",
                Some("paul@octopus.com"),
            ),
            (
                "EmailSettings:DefaultRecipients:Cc",
                Some("henrik@octopus.com"),
            ),
        ],
    ),
    case(
        JSON,
        "ShouldIgnoreOctopusPrefix",
        "appsettings.ignore-octopus.json",
        &[
            ("MyMessage", Some("Hello world!")),
            ("IThinkOctopusIsGreat", Some("Yes, I do!")),
            ("OctopusRocks", Some("This is ignored")),
            ("Octopus.Rocks", Some("So is this")),
            ("Octopus:Section", Some("Should work")),
        ],
    ),
    case(
        JSON,
        "ShouldReplaceVariablesInTopLevelArray",
        "appsettings.top-level-array.json",
        &[("0:Property", Some("NewValue"))],
    ),
    case(
        JSON,
        "ShouldKeepExistingValues",
        "appsettings.existing-expected.json",
        &[
            ("MyMessage", Some("Hello world!")),
            ("EmailSettings:SmtpPort", Some("24")),
            (
                "EmailSettings:DefaultRecipients:Cc",
                Some("damo@octopus.com"),
            ),
        ],
    ),
    case(
        JSON,
        "ShouldMatchAndReplaceIgnoringCase",
        "appsettings.simple.json",
        &[
            ("mymessage", Some("Hello! world!")),
            (
                "EmailSettings:Defaultrecipients:To",
                Some("mark@octopus.com"),
            ),
            (
                "EmailSettings:defaultRecipients:Cc",
                Some("henrik@octopus.com"),
            ),
        ],
    ),
    case(
        JSON,
        "ShouldReplaceWithAnEmptyString",
        "appsettings.single.json",
        &[("MyMessage", Some(""))],
    ),
    case(
        JSON,
        "ShouldReplaceWithNull",
        "appsettings.single.json",
        &[("MyMessage", None)],
    ),
    case(
        JSON,
        "ShouldReplaceWithColonInName",
        "appsettings.colon-in-name.json",
        &[(
            "EnvironmentVariables:Hosting:Environment",
            Some("Production"),
        )],
    ),
    case(
        JSON,
        "ShouldReplaceWholeObject",
        "appsettings.simple.json",
        &[(
            "EmailSettings:DefaultRecipients",
            Some(r#"{"To": "rob@octopus.com", "Cc": "henrik@octopus.com"}"#),
        )],
    ),
    case(
        JSON,
        "ObjectIsNotModifiedIfTheVariableValueCannotBeParsed",
        "appsettings.simple.json",
        &[("EmailSettings:DefaultRecipients", Some("{<<<<"))],
    ),
    case(
        JSON,
        "ShouldReplaceElementInArray",
        "appsettings.array.json",
        &[(
            "EmailSettings:DefaultRecipients:1",
            Some("henrik@octopus.com"),
        )],
    ),
    case(
        JSON,
        "ShouldReplacePropertyOfAnElementInArray",
        "appsettings.object-array.json",
        &[(
            "EmailSettings:DefaultRecipients:1:Email",
            Some("henrik@octopus.com"),
        )],
    ),
    case(
        JSON,
        "ShouldReplaceEntireArray",
        "appsettings.array.json",
        &[(
            "EmailSettings:DefaultRecipients",
            Some(r#"["mike@octopus.com", "henrik@octopus.com"]"#),
        )],
    ),
    case(
        JSON,
        "ShouldReplaceNumber",
        "appsettings.array.json",
        &[("EmailSettings:SmtpPort", Some("8023"))],
    ),
    case(
        JSON,
        "ShouldReplaceDecimal",
        "appsettings.decimals.json",
        &[
            ("DecimalValue", Some("50.0")),
            ("FloatValue", Some("456e-5")),
            ("StringValue", Some("60.0")),
            ("IntegerValue", Some("70")),
        ],
    ),
    case(
        JSON,
        "ShouldReplaceBoolean",
        "appsettings.array.json",
        &[("EmailSettings:UseProxy", Some("true"))],
    ),
    case(
        JSON,
        "ShouldReplaceStructures",
        "structures.json",
        &[
            (
                "mapping2mapping",
                Some(r#"{"this": "is", "new": "mapping"}"#),
            ),
            (
                "sequence2sequence",
                Some(r#"[ "another", "sequence", "altogether" ]"#),
            ),
            ("mapping2sequence", Some(r#"["a","sequence"]"#)),
            (
                "sequence2mapping",
                Some(r#"{  "this": "now",  "has":    "keys" }"#),
            ),
            ("mapping2string", Some(r#""no longer a mapping""#)),
            ("sequence2string", Some(r#""no longer a sequence""#)),
        ],
    ),
    case(
        JSON,
        "ShouldFallBackToStringIfTypePreservationFails",
        "types-fall-back.json",
        &[
            ("null2num", Some("33")),
            ("null2str", Some("bananas")),
            ("null2obj", Some(r#"{"x": 1}"#)),
            ("null2arr", Some("[3, 2]")),
            ("bool2null", Some("null")),
            ("bool2num", Some("52")),
            ("num2null", Some("null")),
            ("num2bool", Some("true")),
            ("num2arr", Some("[1]")),
            ("str2bool", Some("false")),
        ],
    ),
    case(
        JSON,
        "ShouldExpandOctopusVariableReferences",
        "appsettings.simple.json",
        &[
            ("Smtp.Host", Some("mail.example.com")),
            ("EmailSettings:SmtpHost", Some("#{Smtp.Host}")),
        ],
    ),
    case(
        JSON,
        "ShouldPreserveEncodingUtf8DosBom",
        "enc-utf8-dos-bom.json",
        &[],
    ),
    case(
        JSON,
        "ShouldPreserveEncodingUtf8UnixNoBom",
        "enc-utf8-unix-nobom.json",
        &[],
    ),
    case(
        JSON,
        "ShouldPreserveEncodingUtf16DosBom",
        "enc-utf16-dos-bom.json",
        &[],
    ),
    case(
        JSON,
        "ShouldPreserveEncodingWindows1252DosNoBom",
        "enc-windows1252-dos-nobom.json",
        &[],
    ),
    case(
        JSON,
        "ShouldUpgradeEncodingIfNecessaryToAccomodateVariables",
        "enc-windows1252-dos-nobom.json",
        &[("dagger", Some("\u{FFE6}"))],
    ),
    // YamlVariableReplacerFixture
    case(
        YAML,
        "DoesNothingIfThereAreNoVariables",
        "application.yaml",
        &[],
    ),
    case(
        YAML,
        "CanReplaceStringWithString",
        "application.yaml",
        &[
            ("server:ports:0", Some("8080")),
            ("spring:datasource:url", Some("")),
            ("spring:h2:console:enabled", Some("false")),
            ("spring:loggers:1:name", Some("rolling-file")),
            ("environment", Some("production")),
        ],
    ),
    case(
        YAML,
        "ShouldMatchAndReplaceIgnoringCase",
        "application.mixed-case.yaml",
        &[("Spring:h2:Console:enabled", Some("false"))],
    ),
    case(
        YAML,
        "CanReplaceMappingWithString",
        "application.yaml",
        &[
            ("server", Some("local")),
            ("spring:datasource", Some("none")),
        ],
    ),
    case(
        YAML,
        "CanReplaceSequenceWithString",
        "application.yaml",
        &[("server:ports", Some("none"))],
    ),
    case(
        YAML,
        "CanReplaceMappingDespiteReplacementInsideMapping",
        "application.yaml",
        &[
            ("spring:datasource:dbcp2", Some("none")),
            ("spring:datasource", Some("none")),
        ],
    ),
    case(
        YAML,
        "TypesAreInfluencedByThePositionInTheInputDocument",
        "types.yaml",
        &[
            ("null1", Some("~")),
            ("null2", Some("null")),
            ("bool1", Some("true")),
            ("bool2", Some("no")),
            ("int1", Some("99")),
            ("float1", Some("1.99")),
            ("str1", Some("true")),
            ("str2", Some("~")),
            ("str3", Some("true")),
            ("str3", Some("aye")),
            ("str4", Some("cats.com")),
            ("obj1", Some("fruit: apple\nanimal: sloth")),
            ("seq1", Some("- scissors\n- paper\n- rock")),
            ("seq2:0", Some("Orange")),
        ],
    ),
    case(
        YAML,
        "ShouldReplaceVariablesInTopLevelSequence",
        "application.top-level-sequence.yaml",
        &[("1", Some("zwei"))],
    ),
    case(
        YAML,
        "ShouldReplaceWithNull",
        "types.yaml",
        &[
            ("bool1", Some("null")),
            ("int1", Some("~")),
            ("float1", Some("null")),
            ("str1", None),
            ("obj1", Some("~")),
            ("seq1", Some("null")),
            ("seq2:0", Some("~")),
        ],
    ),
    case(
        YAML,
        "ShouldReplaceWithEmpty",
        "types.yaml",
        &[("obj1", Some("{}")), ("seq1", Some("[]"))],
    ),
    case(
        YAML,
        "CanReplaceStructuresWithBlank",
        "types.yaml",
        &[("obj1", Some("")), ("seq1", None), ("seq2", Some(""))],
    ),
    case(
        YAML,
        "ShouldIgnoreOctopusPrefix",
        "application.ignore-octopus.yaml",
        &[
            ("MyMessage", Some("Hello world!")),
            ("IThinkOctopusIsGreat", Some("Yes, I do!")),
            ("Octopus", Some("Foo: Bar")),
            ("OctopusRocks", Some("This is ignored")),
            ("Octopus.Rocks", Some("So is this")),
            ("Octopus:Section", Some("Should work")),
        ],
    ),
    case(
        YAML,
        "ShouldExpandOctopusVariableReferences",
        "application.yaml",
        &[
            ("Server.Port", Some("8080")),
            ("Server:Ports:0", Some("#{Server.Port}")),
        ],
    ),
    case(
        YAML,
        "OutputShouldBeStringEqualToVariableWhenInputTypeDoesNotMatch",
        "types-fall-back.yaml",
        &[
            ("null2num", Some("33")),
            ("null2str", Some("bananas")),
            ("null2obj", Some(r#"{"x": 1}"#)),
            ("null2arr", Some("[3, 2]")),
            ("bool2null", Some("null")),
            ("bool2num", Some("52")),
            ("num2null", Some("null")),
            ("num2bool", Some("true")),
            ("num2arr", Some("[1]")),
            ("str2bool", Some("false")),
        ],
    ),
    case(
        YAML,
        "ShouldReplaceWithColonInName",
        "application.colon-in-name.yaml",
        &[("spring:h2:console:enabled", Some("false"))],
    ),
    case(
        YAML,
        "ShouldPreserveDirectives",
        "application.directives.yaml",
        &[("spring:h2:console:enabled", Some("true"))],
    ),
    case(
        YAML,
        "ShouldPreserveComments",
        "comments.yml",
        &[("environment:matrix:2:DVersion", Some("stable"))],
    ),
    case(
        YAML,
        "ShouldPreserveFlowAndBlockStyles",
        "flow-and-block-styles.yaml",
        &[],
    ),
    case(
        YAML,
        "CanReplaceNestedList",
        "pets.yaml",
        &[(
            "pets-config:pets",
            Some("- name: Susan\n  species: Cuttlefish\n- name: Craig\n  species: Manta Ray"),
        )],
    ),
    case(
        YAML,
        "CanReplaceStructures",
        "structures.yaml",
        &[
            ("mapping2mapping", Some("this: is\nnew: mapping")),
            (
                "sequence2sequence",
                Some("- another\n- sequence\n- altogether"),
            ),
            ("mapping2sequence", Some("- a\n- sequence")),
            ("sequence2mapping", Some("  this: now\n  has:    keys")),
            ("mapping2string", Some("no longer a mapping")),
            ("sequence2string", Some("no longer a sequence")),
        ],
    ),
    case(
        YAML,
        "ShouldPreserveMostCommonIndent",
        "indenting.yaml",
        &[("bbb:this:is", Some("much more"))],
    ),
    case(
        YAML,
        "ShouldPreserveEncodingUtf8DosBom",
        "enc-utf8-dos-bom.yaml",
        &[],
    ),
    case(
        YAML,
        "ShouldPreserveEncodingUtf8UnixNoBom",
        "enc-utf8-unix-nobom.yaml",
        &[],
    ),
    case(
        YAML,
        "ShouldPreserveEncodingUtf16DosBom",
        "enc-utf16-dos-bom.yaml",
        &[],
    ),
    case(
        YAML,
        "ShouldPreserveEncodingWindows1252DosNoBom",
        "enc-windows1252-dos-nobom.yaml",
        &[],
    ),
    case(
        YAML,
        "ShouldUpgradeEncodingIfNecessaryToAccomodateVariables",
        "enc-windows1252-dos-nobom.yaml",
        &[("dagger", Some("\u{FFE6}"))],
    ),
    // XmlVariableReplacerFixture
    case(XML, "DoesNothingIfThereAreNoVariables", "complex.xml", &[]),
    case(
        XML,
        "CanReplaceAComment",
        "complex.xml",
        &[("/document/comment()", Some("New Comment"))],
    ),
    case(
        XML,
        "CanReplaceAnAttribute",
        "complex.xml",
        &[("/document/setting[@id='id-1']/@id", Some("id-new"))],
    ),
    case(
        XML,
        "CanReplaceATextNode",
        "complex.xml",
        &[("/document/setting[@id='id-1']/text()", Some("value-new"))],
    ),
    case(
        XML,
        "CanReplaceAnElementsText",
        "complex.xml",
        &[("/document/setting[@id='id-1']", Some("value<new"))],
    ),
    case(
        XML,
        "CanInsertTextIntoAnEmptyElement",
        "elements.xml",
        &[("/document/empty", Some("value<new"))],
    ),
    case(
        XML,
        "CanInsertTextIntoASelfClosingElement",
        "elements.xml",
        &[("/document/selfclosing", Some("value<new"))],
    ),
    case(
        XML,
        "CanReplaceAnElementsChildrenWhenTheElementHasMixedContent",
        "elements.xml",
        &[("/document/mixed", Some("<newElement />"))],
    ),
    case(
        XML,
        "CanReplaceAnElementsChildren",
        "complex.xml",
        &[("//moreSettings", Some("<a /><b />"))],
    ),
    case(
        XML,
        "CanReplaceAnElementsChildrenWhenTheNewChildrenHaveNamespaces",
        "complex.xml",
        &[("//moreSettings", Some("<db:a />"))],
    ),
    case(
        XML,
        "DoesNotModifyDocumentWhenVariableCannotBeParsedAsMarkup",
        "complex.xml",
        &[("//moreSettings", Some("<<<<"))],
    ),
    case(
        XML,
        "DoesntTreatVariableAsMarkupWhenReplacingAnElementThatContainsNoElementChildren",
        "complex.xml",
        &[("/document/setting[@id='id-1']", Some("<a />"))],
    ),
    case(
        XML,
        "CanReplaceMultipleElements",
        "complex.xml",
        &[("/document/setting", Some("value-new"))],
    ),
    case(
        XML,
        "CanReplaceMultipleElementsInDifferentPartsOfTheTree",
        "complex.xml",
        &[("//setting", Some("value-new"))],
    ),
    case(
        XML,
        "CanReplaceCData",
        "complex.xml",
        &[("/document/setting[@id='id-3']/text()", Some("value-new"))],
    ),
    case(
        XML,
        "CanReplaceCDataInAnElement",
        "complex.xml",
        &[("/document/setting[@id='id-3']", Some("value-new"))],
    ),
    case(
        XML,
        "CanReplaceProcessingInstructions",
        "complex.xml",
        &[(
            "/document/processing-instruction('xml-stylesheet')",
            Some("value-new"),
        )],
    ),
    case(
        XML,
        "CanInferNamespacePrefixesFromDocument",
        "complex.xml",
        &[("/document/unique:anotherSetting", Some("value-new"))],
    ),
    case(
        XML,
        "CanUseXPath2Wildcards",
        "complex.xml",
        &[("//*:node", Some("value-new"))],
    ),
    case(
        XML,
        "DoesNotThrowOnUnrecognisedNamespace",
        "complex.xml",
        &[("//env:something", Some("value-new"))],
    ),
    case(
        XML,
        "UsesTheFirstNamespaceWhenADuplicatePrefixIsFound",
        "duplicate-prefixes.xml",
        &[("//parent/dupe:node", Some("value-new"))],
    ),
    case(
        XML,
        "ShouldIgnoreOctopusPrefix",
        "ignore-octopus.xml",
        &[("Octopus.Release.Id", Some("999"))],
    ),
    case(
        XML,
        "HandlesVariablesThatReferenceOtherVariables",
        "elements.xml",
        &[
            ("/document/selfclosing", Some("#{a}")),
            ("a", Some("#{b}")),
            ("b", Some("value-new")),
        ],
    ),
    case(
        XML,
        "ShouldPreserveEncodingUtf8DosBom",
        "enc-utf8-dos-bom.xml",
        &[],
    ),
    case(
        XML,
        "ShouldPreserveEncodingUtf8UnixNoBom",
        "enc-utf8-unix-nobom.xml",
        &[],
    ),
    case(
        XML,
        "ShouldPreserveEncodingUtf16DosBom",
        "enc-utf16-dos-bom.xml",
        &[],
    ),
    case(
        XML,
        "ShouldPreserveEncodingWindows1252DosNoBom",
        "enc-windows1252-dos-nobom.xml",
        &[],
    ),
    case(
        XML,
        "ShouldUpgradeEncodingIfNecessaryToAccomodateVariables",
        "enc-windows1252-dos-nobom.xml",
        &[("/doc/dagger", Some("\u{FFE6}"))],
    ),
    case(
        XML,
        "ShouldPreserveEncodingIso88592UnixNoBom",
        "enc-iso88592-unix-nobom.xml",
        &[
            ("//name[14]", Some("Miko\u{142}aj")),
            ("//name[.='Micha\u{142}']", Some("Micha\u{142}+")),
        ],
    ),
    case(
        XML,
        "ShouldAdaptDeclaredEncodingWhenNecessary",
        "enc-iso88592-unix-nobom.xml",
        &[("//name[14]", Some("\u{5F20}\u{4F1F}"))],
    ),
    // PropertiesVariableReplacerFixture
    case(
        PROPS,
        "DoesNothingIfThereAreNoVariables",
        "example.properties",
        &[],
    ),
    case(PROPS, "HandlesAnEmptyFile", "blank.properties", &[]),
    case(
        PROPS,
        "CanReplaceASimpleKeyValuePair",
        "example.properties",
        &[("key1", Some("new-value"))],
    ),
    case(
        PROPS,
        "CanReplaceAKeyThatContainsAPhysicalNewLine",
        "example.properties",
        &[("key3", Some("new-value"))],
    ),
    case(
        PROPS,
        "OnlyReplacesExistingKeys",
        "example.properties",
        &[("no-such-key", Some("new-value"))],
    ),
    case(
        PROPS,
        "EscapesSlashesInValues",
        "example.properties",
        &[("key1", Some("new\\value"))],
    ),
    case(
        PROPS,
        "EscapesDosNewLinesInValues",
        "example.properties",
        &[("key1", Some("new\r\nvalue"))],
    ),
    case(
        PROPS,
        "EscapesNixNewLinesInValues",
        "example.properties",
        &[("key1", Some("new\nvalue"))],
    ),
    case(
        PROPS,
        "EscapesTabsInValues",
        "example.properties",
        &[("key1", Some("new\tvalue"))],
    ),
    case(
        PROPS,
        "EscapesALeadingSpaceInValues",
        "example.properties",
        &[("key1", Some("  new value"))],
    ),
    case(
        PROPS,
        "CanReplaceAValueInAKeyThatDoesntHaveAValue",
        "example.properties",
        &[("key5", Some("  new value"))],
    ),
    case(
        PROPS,
        "CanReplaceAValueInAKeyThatHasNeitherSeparatorNorValue",
        "example.properties",
        &[("key6", Some("  new value"))],
    ),
    case(
        PROPS,
        "ShouldIgnoreOctopusPrefix",
        "example.properties",
        &[("Octopus.Release.Id", Some("999"))],
    ),
    case(
        PROPS,
        "HandlesVariablesThatReferenceOtherVariables",
        "example.properties",
        &[
            ("key1", Some("#{a}")),
            ("a", Some("#{b}")),
            ("b", Some("new-value")),
        ],
    ),
    case(
        PROPS,
        "UnicodeCharsInValuesAreEscaped",
        "example.properties",
        &[("key1", Some("\u{398}ctopus"))],
    ),
    case(
        PROPS,
        "UnicodeCharsInKeysAreHandled",
        "unicode-key.properties",
        &[("k\u{1E1B}y", Some("new-value"))],
    ),
    case(
        PROPS,
        "ShouldPreserveEncodingUtf8DosBom",
        "enc-utf8-dos-bom.properties",
        &[],
    ),
    case(
        PROPS,
        "ShouldPreserveEncodingUtf8UnixNoBom",
        "enc-utf8-unix-nobom.properties",
        &[],
    ),
    case(
        PROPS,
        "ShouldPreserveEncodingUtf16DosBom",
        "enc-utf16-dos-bom.properties",
        &[],
    ),
    case(
        PROPS,
        "ShouldPreserveEncodingWindows1252DosNoBom",
        "enc-windows1252-dos-nobom.properties",
        &[],
    ),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/calamari-fixtures/StructuredVariables")
}

/// The variables as a step sees them: each value evaluated (`#{...}` references resolved).
fn evaluated(vars: &[(&str, Option<&str>)]) -> Vec<StructuredVariable> {
    let mut all = Variables::new();
    for (name, value) in vars {
        all.set(*name, value.map(str::to_string));
    }
    vars.iter()
        .map(|(name, value)| {
            let value = value.map(|_| all.get(name).unwrap_or_default());
            (name.to_string(), value)
        })
        .collect()
}

/// The approved file of a case: `Approved/CLASS.TEST.approved.EXT`.
fn approved(case: &Case) -> Result<PathBuf, String> {
    let prefix = format!("{}.{}.approved.", case.class, case.test);
    std::fs::read_dir(fixtures().join("Approved"))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .ok_or_else(|| format!("no approved file {prefix}*"))
}

/// Calamari's readable hex dump (`7B 0D 0A 20 ...   text`) back to bytes.
fn from_hex_dump(dump: &str) -> Vec<u8> {
    dump.lines()
        .flat_map(|line| line.get(..23).unwrap_or(line).split_whitespace())
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

fn run(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = dir.path().join(case.sample);
    std::fs::copy(fixtures().join("Samples").join(case.sample), &target)
        .map_err(|e| e.to_string())?;
    replace_structured(
        &target,
        &evaluated(case.vars),
        StructuredOptions::default(),
        &mut |_| Ok(()),
    )
    .map_err(|e: ConfigError| format!("failed: {e}"))?;
    let actual = std::fs::read(&target).map_err(|e| e.to_string())?;
    let approved_path = approved(case)?;
    let approved = std::fs::read(&approved_path).map_err(|e| e.to_string())?;
    let hex = approved_path.extension().is_some_and(|e| e == "txt");
    let expected = if hex {
        from_hex_dump(&String::from_utf8_lossy(&approved))
    } else {
        approved
    };
    if actual == expected {
        return Ok(());
    }
    let decode = |bytes: Vec<u8>| TextFile::decode(&target, bytes).map_err(|e| e.to_string());
    let (actual, expected) = (decode(actual)?, decode(expected)?);
    if hex && actual.encoding != expected.encoding {
        return Err(format!(
            "encoding {:?}, Calamari {:?}",
            actual.encoding, expected.encoding
        ));
    }
    if hex && actual.text.contains("\r\n") != expected.text.contains("\r\n") {
        return Err("line endings differ".to_string());
    }
    if same_document(case.class, &actual.text, &expected.text) {
        Ok(())
    } else {
        Err(format!(
            "differs:\n--- dropship\n{}\n--- Calamari\n{}",
            actual.text, expected.text
        ))
    }
}

/// The same parsed document, for the formats dropship keeps the layout of.
fn same_document(class: &str, actual: &str, expected: &str) -> bool {
    // Approved text files were written on Windows (CRLF) from samples with either ending: only the
    // hex-dump cases are compared with their line endings.
    let strip = |s: &str| s.trim_start_matches('\u{FEFF}').replace("\r\n", "\n");
    let (actual, expected) = (strip(actual), strip(expected));
    if actual == expected {
        return true;
    }
    match class {
        JSON => {
            let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
            parse(&actual).is_some() && parse(&actual) == parse(&expected)
        }
        YAML => {
            let parse = |s: &str| yaml_rust2::YamlLoader::load_from_str(s).ok();
            parse(&actual).is_some() && parse(&actual) == parse(&expected)
        }
        XML => xml_infoset(&actual).is_some() && xml_infoset(&actual) == xml_infoset(&expected),
        _ => actual == expected,
    }
}

/// The XML events without whitespace-only text and with the declaration's layout ignored.
fn xml_infoset(text: &str) -> Option<Vec<String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut out = Vec::new();
    loop {
        let event = reader.read_event().ok()?;
        let item = match &event {
            Event::Eof => return Some(out),
            Event::Text(t) if t.clone().into_inner().trim().is_empty() => continue,
            Event::Decl(_) => continue,
            Event::Start(e) => {
                let mut attrs: Vec<String> = e
                    .attributes()
                    .filter_map(Result::ok)
                    .map(|a| format!("{:?}={:?}", a.key, a.value))
                    .collect();
                attrs.sort();
                format!("start {:?} {attrs:?}", e.name())
            }
            other => format!("{other:?}").trim().to_string(),
        };
        out.push(item);
    }
}

#[test]
fn calamari_structured_variable_fixtures() {
    let mut failures = Vec::new();
    let mut counts: Vec<(&str, usize, usize)> = Vec::new();
    for case in CASES {
        let id = format!("{}.{}", case.class, case.test);
        let gap = KNOWN_GAPS.iter().any(|(g, _)| *g == id);
        let result = run(case);
        match counts.iter_mut().find(|(c, ..)| *c == case.class) {
            Some(entry) => {
                entry.1 += usize::from(result.is_ok());
                entry.2 += 1;
            }
            None => counts.push((case.class, usize::from(result.is_ok()), 1)),
        }
        match (result, gap) {
            (Err(why), false) => failures.push(format!("{id}: {why}")),
            (Ok(()), true) => failures.push(format!("{id}: passes, remove it from KNOWN_GAPS")),
            _ => {}
        }
    }
    for (class, passed, total) in &counts {
        println!("{class}: {passed}/{total} same data");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_broken_yaml_file_names_calamaris_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("broken.yaml");
    std::fs::copy(fixtures().join("Samples/broken.yaml"), &target).expect("copy");
    let err = replace_structured(&target, &[], StructuredOptions::default(), &mut |_| Ok(()))
        .expect_err("a parse error");
    let message = err.to_string();
    assert!(message.contains("line 4, column 1"), "{message}");
}

/// `ConfigurationVariablesFixture`: .NET configuration variables on Calamari's samples.
mod configuration_variables {
    use super::*;
    use dropship_runtime::config::replace_dotnet_config;

    fn run(sample: &str, vars: &[(&str, &str)]) -> Result<String, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join(sample);
        let samples = fixtures().join("../ConfigurationVariables/Samples");
        std::fs::copy(samples.join(sample), &target).expect("copy");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        replace_dotnet_config(&target, &vars, &mut |_| Ok(()))?;
        let bytes = std::fs::read(&target).expect("read");
        Ok(TextFile::decode(&target, bytes).expect("text").text)
    }

    /// The variables Calamari's app-settings tests set (`DatabaseConnection` is null: empty).
    const APP: &[(&str, &str)] = &[
        ("WelcomeMessage", "Hello world"),
        ("LogFile", "C:\\Log.txt"),
        ("DatabaseConnection", ""),
    ];

    #[test]
    fn replaces_app_settings_with_and_without_namespaces_and_header() {
        for sample in ["App.config", "CrazyNamespace.config", "NoHeader.config"] {
            let text = run(sample, APP).expect("replaces");
            assert!(
                text.contains(r#"<add key="WelcomeMessage" value="Hello world" />"#),
                "{sample}: {text}"
            );
            assert!(
                text.contains(r#"<add key="LogFile" value="C:\Log.txt" />"#),
                "{sample}: {text}"
            );
            assert!(
                text.contains(r#"<add key="DatabaseConnection" value="" />"#),
                "{sample}: {text}"
            );
        }
        let text = run("NoHeader.config", APP).expect("replaces");
        assert!(
            text.trim_start_matches('\u{FEFF}')
                .starts_with("<configuration"),
            "no header added"
        );
    }

    #[test]
    fn replaces_strongly_typed_settings_and_connection_strings() {
        let text = run("StrongTyped.config", APP).expect("replaces");
        assert!(text.contains("<value>Hello world</value>"), "{text}");
        let text = run(
            "App.config",
            &[("MyDb1", "Server=foo"), ("MyDb2", "Server=bar&bar=123")],
        )
        .expect("replaces");
        assert!(text.contains(r#"connectionString="Server=foo""#), "{text}");
        assert!(
            text.contains(r#"connectionString="Server=bar&amp;bar=123""#),
            "{text}"
        );
    }

    #[test]
    fn a_bad_config_fails_as_in_calamari() {
        let err = run("Bad.config", &[]).expect_err("undeclared &nbsp;");
        assert!(err.to_string().contains("&nbsp;"), "{err}");
    }
}

/// `SubstitutionsFixture`: substitution in files, with encodings, on Calamari's samples.
mod substitutions {
    use super::*;
    use dropship_runtime::config::{
        SubstituteOptions, SubstitutionError, TextEncoding, apply_substitution, plan_substitution,
    };
    use dropship_runtime::template::{Mode, evaluate};

    /// Substitutes `sample` as a step does (continue mode), returning the bytes written and the
    /// sample's bytes.
    fn run(
        sample: &str,
        vars: &[(&str, &str)],
        output_encoding: Option<&str>,
    ) -> (Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = fixtures().join("../Substitutions/Samples").join(sample);
        std::fs::copy(&source, dir.path().join(sample)).expect("copy");
        let mut all = Variables::new();
        for (name, value) in vars {
            all.set(*name, Some(value.to_string()));
        }
        let evaluator = |text: &str| {
            evaluate(text, &all, Mode::Continue)
                .map(|e| e.output.unwrap_or_default())
                .map_err(|e| SubstitutionError {
                    message: e.to_string(),
                    partial_output: None,
                })
        };
        let plan = plan_substitution(&[dir.path()], &[sample.to_string()]).expect("plan");
        let options = SubstituteOptions {
            fail_on_error: false,
            output_encoding: output_encoding.and_then(TextEncoding::from_dotnet_name),
        };
        apply_substitution(&plan, &evaluator, options, &mut |_| Ok(())).expect("substitutes");
        let written = std::fs::read(dir.path().join(sample)).expect("read");
        (written, std::fs::read(source).expect("read sample"))
    }

    const SPONGE: &[(&str, &str)] = &[("LocalCacheFolderName", "SpongeBob")];

    fn replaced(bytes: &[u8], with: &[u8]) -> Vec<u8> {
        let token = b"#{LocalCacheFolderName}";
        let at = bytes
            .windows(token.len())
            .position(|w| w == token)
            .expect("token");
        [&bytes[..at], with, &bytes[at + token.len()..]].concat()
    }

    #[test]
    fn every_encoding_is_kept_byte_for_byte() {
        for sample in ["ANSI.txt", "ASCII.txt", "UTF8.txt", "UTF8BOM.txt"] {
            let (written, original) = run(sample, SPONGE, None);
            assert_eq!(written, replaced(&original, b"SpongeBob"), "{sample}");
        }
        let (written, original) = run("UTF16LE.ini", SPONGE, None);
        let sponge: Vec<u8> = "SpongeBob"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let token: Vec<u8> = "#{LocalCacheFolderName}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let at = original
            .windows(token.len())
            .position(|w| w == token.as_slice())
            .expect("token");
        let expected = [&original[..at], &sponge, &original[at + token.len()..]].concat();
        assert_eq!(written, expected, "UTF16LE.ini");
    }

    #[test]
    fn output_encoding_overrides_and_an_unknown_one_is_ignored() {
        let (written, _) = run("UTF16LE.ini", SPONGE, Some("utf-8"));
        assert!(
            written.starts_with(b"\xEF\xBB\xBF"),
            "UTF-8 with a BOM, as .NET's utf-8"
        );
        let text = String::from_utf8(written[3..].to_vec()).expect("UTF-8");
        assert!(
            text.contains("SpongeBob") && text.contains("banknames.ora") && text.contains("\r\n")
        );
        let (written, _) = run("UTF16LE.ini", &[], Some("utf-666"));
        assert!(written.starts_with(b"\xFF\xFE"), "still UTF-16");
    }

    #[test]
    fn ansi_that_cannot_hold_the_value_becomes_utf8() {
        let (written, original) = run(
            "ANSI.txt",
            &[("LocalCacheFolderName", "Sp\u{151}ngeB\u{151}b")],
            None,
        );
        let original = encoding_rs::WINDOWS_1252.decode(&original).0.into_owned();
        let expected = original.replace("#{LocalCacheFolderName}", "Sp\u{151}ngeB\u{151}b");
        assert_eq!(String::from_utf8(written).expect("UTF-8, no BOM"), expected);
        let (written, original) = run(
            "ASCII.txt",
            &[("LocalCacheFolderName", "Sp\u{F6}ngeB\u{F6}b")],
            None,
        );
        let expected = String::from_utf8(original)
            .expect("ASCII")
            .replace("#{LocalCacheFolderName}", "Sp\u{F6}ngeB\u{F6}b");
        assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
    }

    #[test]
    fn parser_errors_are_ignored_and_filters_applied() {
        let (written, _) = run("ParserErrors.txt", &[("fox", "replaced fox")], None);
        assert_eq!(
            String::from_utf8(written)
                .expect("UTF-8")
                .replace("\r\n", "\n"),
            "the quick brown replaced fox jumps over the lazy #{dog\nthe quick brown replaced fox jumps over the lazy #{dog #{"
        );
        let vars = [
            ("var", "=:'\"\\\r\n\t <>\u{FFE6}"),
            ("dateVar", "2030-05-22 09:05:00"),
        ];
        let (written, _) = run("Filters.txt", &vars, None);
        let approved = std::fs::read_to_string(
            fixtures().join("../Substitutions/Approved/SubstitutionsFixture.ShouldApplyFiltersDuringSubstitution.approved.txt"),
        )
        .expect("approved");
        // The approved file is stored with normalised line endings, also inside the value.
        let written = String::from_utf8(written).expect("UTF-8");
        assert_eq!(
            written.replace("\r\n", "\n"),
            approved.replace("\r\n", "\n")
        );
    }

    #[test]
    fn servers_json_is_substituted() {
        let vars = [
            ("ServerEndpoints[FOREXUAT01].Name", "forexuat01.local"),
            ("ServerEndpoints[FOREXUAT01].Port", "1566"),
            ("ServerEndpoints[FOREXUAT02].Name", "forexuat02.local"),
            ("ServerEndpoints[FOREXUAT02].Port", "1566"),
        ];
        let (written, _) = run("Servers.json", &vars, None);
        let compact: String = String::from_utf8(written)
            .expect("UTF-8")
            .split_whitespace()
            .collect();
        assert_eq!(
            compact,
            r#"{"Servers":[{"Name":"forexuat01.local","Port":1566},{"Name":"forexuat02.local","Port":1566}]}"#
        );
    }
}

/// `ConfigurationTransformsFixture`: XDT transforms on Calamari's samples.
mod configuration_transforms {
    use super::*;
    use dropship_runtime::config::{TransformReport, apply_transform};

    fn run(target: &str, transform: &str) -> (Result<TransformReport, ConfigError>, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let samples = fixtures().join("../ConfigurationTransforms/Samples");
        let path = dir.path().join(target);
        std::fs::copy(samples.join(target), &path).expect("copy");
        let result = apply_transform(&path, &samples.join(transform), &mut |_| Ok(()));
        let bytes = std::fs::read(&path).expect("read");
        (result, TextFile::decode(&path, bytes).expect("text").text)
    }

    #[test]
    fn web_release_config() {
        let (result, text) = run("Web.config", "Web.Release.config");
        assert!(result.expect("transforms").warnings.is_empty());
        assert!(!text.contains("debug="), "{text}");
        assert!(
            text.contains(r#"<add key="WelcomeMessage" value="Release!" />"#),
            "{text}"
        );
    }

    #[test]
    fn xml_with_namespaces_is_correctly_processed() {
        let (result, text) = run("nlog.config", "nlog.Release.config");
        assert!(result.expect("transforms").warnings.is_empty());
        let approved = std::fs::read_to_string(fixtures().join(
            "../ConfigurationTransforms/Approved/ConfigurationTransformsFixture.XmlWithNamespacesIsCorrectlyProcessed.approved.txt",
        ))
        .expect("approved");
        assert_eq!(xml_infoset(&text), xml_infoset(&approved), "{text}");
    }

    #[test]
    fn bad_config_fails_a_warning_is_reported_and_no_root_fails() {
        let (result, _) = run("Bad.config", "Web.Release.config");
        assert!(result.expect_err("bad").to_string().contains("&nbsp;"));
        let (result, text) = run("Web.config", "Web.Warning.config");
        assert_eq!(result.expect("transforms").warnings.len(), 1);
        assert!(text.contains("DatabaseConnection"), "untouched: {text}");
        let (result, _) = run("Web.config", "Web.Empty.config");
        let message = result.expect_err("no root").to_string();
        assert!(message.contains("root element"), "{message}");
    }
}
