//! Unit tests of the engine through its public API: text and escapes, parsing pieces, echo
//! forms, scopes, `each`, JSON, `calc`, conditionals, cycles and the null result.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Variables {
    let mut v = Variables::new();
    for (name, value) in pairs {
        v.set(*name, Some(value.to_string()));
    }
    v
}

fn run(template: &str, pairs: &[(&str, &str)], mode: Mode) -> Evaluation {
    match evaluate(template, &vars(pairs), mode) {
        Ok(evaluation) => evaluation,
        Err(e) => Evaluation {
            output: None,
            error: Some(format!("ERR {e}")),
        },
    }
}

fn strict(template: &str, pairs: &[(&str, &str)]) -> String {
    run(template, pairs, Mode::Strict)
        .output
        .unwrap_or_else(|| "<null>".into())
}

fn cont(template: &str, pairs: &[(&str, &str)]) -> String {
    run(template, pairs, Mode::Continue)
        .output
        .unwrap_or_else(|| "<null>".into())
}

#[test]
fn escapes_and_hashes() {
    assert_eq!(strict("##{foo}", &[("foo", "x")]), "#{foo}");
    assert_eq!(strict("###{foo}", &[("foo", "x")]), "#x");
    assert_eq!(strict("####{foo}", &[("foo", "x")]), "###{foo}");
    assert_eq!(strict("#####{foo}", &[("foo", "x")]), "###x");
    assert_eq!(strict("# ## ###", &[]), "# ## ###");
    assert_eq!(strict("a\\#{foo}", &[("foo", "x")]), "a\\x");
}

#[test]
fn names_trim_keep_inner_spaces_and_ignore_case() {
    assert_eq!(strict("#{  Foo Bar  }", &[("foo bar", "x")]), "x");
    assert_eq!(
        strict(
            "#{octopus.action[package a].name}",
            &[("Octopus.Action[Package A].Name", "n")]
        ),
        "n"
    );
    assert_eq!(strict("#{ifX}", &[("ifX", "y")]), "y");
    assert_eq!(strict("#{ else}", &[("else", "e")]), "e");
}

#[test]
fn parse_failures_return_input_in_strict_mode() {
    for bad in [
        "#{Foo.}",
        "#{Fo[o}",
        "#{}",
        "#{ }",
        "a #{/if}",
        "#{else}",
        "#{foo | Replace \"#\" x}",
    ] {
        let ev = run(bad, &[("Foo", "x")], Mode::Strict);
        assert_eq!(ev.output.as_deref(), Some(bad), "{bad}");
        assert!(ev.error.is_some(), "{bad}");
    }
    assert!(check_syntax("ok #{A}").is_ok());
    let err = check_syntax("line\n  #{A")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn continue_mode_passes_unparseable_text_through() {
    assert_eq!(
        cont("a #{foo$} #{B}", &[("foo", "x"), ("B", "b")]),
        "a #{foo$} b"
    );
    assert_eq!(cont("x #{/if} #{B}", &[("B", "b")]), "x #{/if} b");
    assert_eq!(
        cont("#{B} #{each x in L}#{x}", &[("B", "b"), ("L", "1")]),
        "b #{each x in L}#{x}"
    );
    assert_eq!(cont("#{B} #{", &[("B", "b")]), "b #{");
    let ev = run("#{if A}x#{B}", &[("A", "true"), ("B", "b")], Mode::Strict);
    assert_eq!(ev.output.as_deref(), Some("#{if A}xb"));
    assert!(ev.error.is_some());
}

#[test]
fn unresolved_tokens_are_echoed_normalised() {
    let ev = run(
        "#{foo | Substring 1 2 3} #{Missing}",
        &[("foo", "ababa")],
        Mode::Strict,
    );
    assert_eq!(
        ev.output.as_deref(),
        Some("#{foo | Substring \"1\" \"2\" \"3\"} #{Missing}")
    );
    assert_eq!(
        ev.error.as_deref(),
        Some(
            "The following tokens were unable to be evaluated: '#{foo | Substring \"1\" \"2\" \"3\"}', '#{Missing}'"
        )
    );
    assert_eq!(strict("#{A[#{B}].C} #{ | X}", &[]), "#{A[#{B}].C} #{ | X}");
    assert_eq!(strict("#{x | Contains #{y}}", &[]), "#{x | Contains #{y}}");
}

#[test]
fn values_are_evaluated_recursively_in_their_own_scope() {
    let pairs = [
        ("Url", "http://#{Server | ToLower}:#{Port}"),
        ("Server", "WEB"),
        ("Port", "80"),
    ];
    assert_eq!(strict("#{Url}", &pairs), "http://web:80");
    let ev = run("#{Protocol}", &[("Protocol", "#{Proto}")], Mode::Strict);
    assert_eq!(ev.output.as_deref(), Some("#{Proto}"));
    assert!(ev.error.is_some_and(|e| e.contains("'#{Proto}'")));
    assert_eq!(
        strict("#{Raw}", &[("Raw", "#{A} #{"), ("A", "a")]),
        "#{A} #{"
    );
    assert_eq!(
        strict(
            "#{each x in L}#{Show}#{/each}",
            &[("L", "a,b"), ("Show", "<#{x}>")]
        ),
        "<#{x}><#{x}>"
    );
    assert_eq!(strict("#{Esc}", &[("Esc", "##{x}")]), "#{x}");
}

#[test]
fn null_values_bind_as_empty() {
    let mut v = Variables::new();
    v.set("Foo", None);
    let ev = evaluate("[#{Foo}]", &v, Mode::Strict).ok();
    assert_eq!(ev.and_then(|e| e.output).as_deref(), Some("[]"));
    assert_eq!(v.get("Foo"), None);
    assert!(v.contains("FOO"));
}

#[test]
fn variables_replace_in_place_ignoring_case() {
    let mut v = vars(&[("A", "1"), ("B", "2")]);
    v.set("a", Some("3".into()));
    let items: Vec<_> = v.iter().collect();
    assert_eq!(items, [("A", Some("3")), ("B", Some("2"))]);
    assert_eq!(v.len(), 2);
    assert_eq!(v.get_raw("b"), Some("2"));
    let shown = format!("{v:?}");
    assert!(shown.contains("\"B\"") && !shown.contains('3'), "{shown}");
}

#[test]
fn conditionals() {
    let t = "#{if V}T#{else}F#{/if}";
    for (value, expected) in [
        ("0", "F"),
        ("", "F"),
        (" no ", "F"),
        ("FALSE", "F"),
        (" 0", "T"),
        ("null", "T"),
        ("   ", "T"),
    ] {
        assert_eq!(strict(t, &[("V", value)]), expected, "{value:?}");
    }
    assert_eq!(
        strict("#{unless V}A#{else}B#{/unless}", &[("V", "true")]),
        "B"
    );
    assert_eq!(strict("#{if A == B}eq#{/if}", &[]), "eq");
    assert_eq!(strict("#{if E != \"x\"}ne#{/if}", &[("E", "y")]), "ne");
    assert_eq!(strict("#{if \"a\" == E}y#{/if}", &[("E", "a")]), "y");
    assert_eq!(
        strict("#{if E == \\\"a b\\\"}y#{/if}", &[("E", "a b")]),
        "y"
    );
    assert_eq!(
        strict(
            "#{if a}1#{elseif b}2#{elseif c}3#{else}4#{/if}",
            &[("c", "1")]
        ),
        "3"
    );
    assert_eq!(
        strict("#{if a}#{if b}x#{/if}#{/if}", &[("a", "1"), ("b", "1")]),
        "x"
    );
}

#[test]
fn conditionals_with_null_filters_are_echoed_whole() {
    assert_eq!(
        strict("#{if X | Bad}a#{/if}", &[("X", "1")]),
        "#{if X | Bad}a#{/if}"
    );
    assert_eq!(
        strict("#{if X | Bad == \"y\"}a#{/if}", &[("X", "1")]),
        "#{if X | Bad == \"y\" }a#{/if}"
    );
    assert_eq!(
        strict("#{unless X | Bad}a##{b}#{/unless}", &[]),
        "#{if X | Bad}#{else}a##{b}#{/if}"
    );
}

#[test]
fn iteration() {
    let pairs = [("L", "a, b")];
    assert_eq!(strict("#{each x in L}[#{x}]#{/each}", &pairs), "[a][ b]");
    let t = "#{each x in L}#{Octopus.Template.Each.Index}#{Octopus.Template.Each.First}#{Octopus.Template.Each.Last};#{/each}";
    assert_eq!(strict(t, &[("L", "a,b")]), "0TrueFalse;1FalseTrue;");
    assert_eq!(
        strict(
            "#{each x in J}#{x}|#{/each}",
            &[("J", "[1, \"a\", {\"b\": 2}]")]
        ),
        "1|a|{\"b\":2}|"
    );
    assert_eq!(
        strict(
            "#{each a in A}#{a.Name}#{/each}",
            &[("A", "[{Name: 'x'}, {Name: 'y'}]")]
        ),
        "xy"
    );
    assert_eq!(
        strict(
            "#{each x in L}#{Octopus.Action[B].Name}#{/each}",
            &[("L", "1"), ("Octopus.Action[B].Name", "n")]
        ),
        "n"
    );
    assert_eq!(
        strict("#{A[*].N}", &[("A[x].N", "1"), ("A[y].N", "2")]),
        "1"
    );
}

#[test]
fn json_values() {
    let pairs = [(
        "J",
        "{\"A\": [10, 20, 30, 40], \"B\": {\"C\": true}, \"N\": null}",
    )];
    let t = "#{J.A[1]}|#{J[A][4]}|#{J.B.C}|#{J.N}|#{J.Missing}|#{J.B}";
    assert_eq!(strict(t, &pairs), "20||True|||{\"C\":true}");
    assert_eq!(
        strict("#{Foo[Bar]}", &[("Foo", "#{Foo[Bar]}")]),
        "#{Foo[Bar]}"
    );
    let ev = evaluate("#{J.A[-1]}", &vars(&pairs), Mode::Strict);
    assert!(ev.is_err());
    assert_eq!(
        strict(
            "#{T.Hello}",
            &[("T.Hello", "explicit"), ("T", "{\"Hello\": \"json\"}")]
        ),
        "explicit"
    );
}

#[test]
fn calc() {
    let pairs = [("A", "5"), ("B", "7"), ("Another-Var", "11")];
    assert_eq!(strict("#{calc A*(B+2)}", &pairs), "45");
    assert_eq!(strict("#{calc 3*2+2*4}", &pairs), "14");
    assert_eq!(strict("#{calc {Another-Var}-2}", &pairs), "9");
    assert_eq!(strict("#{calc 1/3}", &pairs), "0.3333333333333333");
    assert_eq!(strict("#{calc 1/0}", &pairs), "∞");
    let ev = run("#{calc C + 2}", &pairs, Mode::Strict);
    assert_eq!((ev.output.as_deref(), ev.error), (Some("#{C+2}"), None));
    assert_eq!(
        strict("#{Foo | Append #{calc A+1}}", &[("Foo", "x"), ("A", "1")]),
        "x2"
    );
}

#[test]
fn cycles_are_errors_with_the_chain() {
    let err = evaluate(
        "#{Foo}",
        &vars(&[("Foo", "#{Fox}"), ("Fox", "#{Foo}")]),
        Mode::Continue,
    )
    .err();
    assert!(err.as_ref().is_some_and(TemplateError::is_cycle));
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        "An attempt to parse the variable symbol \"Foo\" appears to have resulted in a self referencing loop (Foo -> Fox -> Foo). Ensure that recursive loops do not exist in the variable values."
    );
    assert!(evaluate("#{Foo}", &vars(&[("Foo", " #{Foo}")]), Mode::Strict).is_err());
    // A cycle met while reading a value as JSON only disables the JSON fallback.
    let pairs = [("Test", "{Name: \"#{Test.Value}\", Value: 12}")];
    assert_eq!(strict("#{Test.Name}", &pairs), "12");
}

#[test]
fn null_result() {
    assert_eq!(run("a #{ | null }", &[], Mode::Strict).output, None);
    let ev = run("#{foo}", &[("foo", "#{ | null}")], Mode::Strict);
    assert_eq!((ev.output.as_deref(), ev.error), (Some("#{ | null}"), None));
    assert_eq!(vars(&[("foo", "#{ | null}")]).get("foo"), None);
    assert_eq!(strict("#{if 0}#{ | null}#{/if}x", &[]), "x");
}

#[test]
fn else_tags_end_only_if_bodies() {
    assert_eq!(strict("#{else}", &[("else", "e")]), "e");
    assert_eq!(
        strict(
            "#{each x in L}#{else}#{/each}",
            &[("L", "a"), ("else", "e")]
        ),
        "e"
    );
    assert_eq!(strict("#{if a}1#{else}2#{/if}", &[]), "2");
}

#[test]
fn null_marker_in_a_value_keeps_the_value_raw() {
    let pairs = [("foo", "x #{Bar} #{ | null}"), ("Bar", "b")];
    assert_eq!(strict("#{foo}", &pairs), "x #{Bar} #{ | null}");
    assert_eq!(
        run("#{A | Append #{ | null}}", &[("A", "a")], Mode::Strict).output,
        None
    );
    let ev = run("#{if X | Bad}a#{/if}", &[("X", "1")], Mode::Strict);
    assert_eq!(
        ev.error.as_deref(),
        Some("The following tokens were unable to be evaluated: 'X | Bad'")
    );
}

#[test]
fn truthy_evaluation() {
    assert!(evaluate_truthy("#{A}", &vars(&[("A", "yes")])));
    assert!(!evaluate_truthy("#{A}", &vars(&[("A", "False")])));
    assert!(!evaluate_truthy("#{Missing}", &vars(&[])));
    assert!(!evaluate_truthy("#{", &vars(&[])));
}

#[test]
fn upstream_usage_examples() {
    let actions = [
        ("Octopus.Action[Package A].Name", "A"),
        ("Octopus.Action[Package A].TargetRoles", "a,b"),
        ("Octopus.Action[Package B].Name", "B"),
        ("Octopus.Action[Package B].TargetRoles", "c"),
    ];
    let t = "#{each a in Octopus.Action}#{each tr in a.TargetRoles}#{a.Name}#{tr}#{/each}#{/each}";
    assert_eq!(strict(t, &actions), "AaAbBc");
    let recursive = [("P", "A"), ("Octopus.Action[x].Name", "#{P}")];
    assert_eq!(
        strict("#{each a in Octopus.Action}#{a.Name}#{/each}", &recursive),
        "A"
    );
    let unscoped = [
        ("Octopus.Action[Action 1].StepName", "Step 1"),
        ("Octopus.Step[V].Details", "D"),
        ("Octopus.Step[V].Status", "Skipped"),
        ("Other", "V"),
    ];
    let t = "#{each a in Octopus.Action}#{if Octopus.Step[#{Other}].Status == \"Skipped\"}#{Octopus.Step[#{Other}].Details}#{/if}#{/each}";
    assert_eq!(strict(t, &unscoped), "D");
    let ev = run(
        "#{each a in Action}#{a.Size}#{/each}",
        &[("Action[x].Name", "B"), ("Action[y].Name", "B")],
        Mode::Strict,
    );
    assert_eq!(ev.output.as_deref(), Some("#{a.Size}#{a.Size}"));
    assert!(ev.error.is_some());
    let js = r##"a=function(e){return"#{"===e.substr(0,2)?void 0:e},i="#{Web.Root}";x"##;
    assert_eq!(
        cont(js, &[("Web.Root", "R")]),
        r##"a=function(e){return"#{"===e.substr(0,2)?void 0:e},i="R";x"##
    );
    let tail = r##"i="#{Web.Root}";return"#{"##;
    assert_eq!(cont(tail, &[("Web.Root", "R")]), r##"i="R";return"#{"##);
}

#[test]
fn upstream_json_examples() {
    let t = "#{each n in Test}#{n}#{if Octopus.Template.Each.Last == \"False\"}-#{/if}#{/each}";
    assert_eq!(strict(t, &[("Test", "[2,3,5,8]")]), "2-3-5-8");
    let sizes = [("Octopus.Sizes", "{\"Small\": \"11.5\",  Large: 15.21}")];
    assert_eq!(
        strict("#{each s in Octopus.Sizes}#{s}:#{s.Value},#{/each}", &sizes),
        "Small:11.5,Large:15.21,"
    );
    let t = "{\"Bar\":\"#{if Foo == \\\"test text\\\"}Blaa#{/if}\"}";
    assert_eq!(strict(t, &[("Foo", "test text")]), "{\"Bar\":\"Blaa\"}");
    let pairs = [
        ("Prop", "Foo"),
        ("Val", "Bar"),
        ("Test", "{#{Prop}: \"#{Val}\"}"),
    ];
    assert_eq!(
        strict("#{Test[Foo]}#{Test.Foo}#{Test[#{Prop}]}", &pairs),
        "BarBarBar"
    );
    assert_eq!(
        strict(
            "B:#{each n in T.Blah}#{n}#{/each}:A",
            &[("T", "{Blah: null}")]
        ),
        "B::A"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut v = Variables::new();
    for i in 0..90 {
        v.set(format!("V{i}"), Some(format!("#{{V{}}}", i + 1)));
    }
    v.set("V90", Some("end".into()));
    let ev = evaluate("#{V0}", &v, Mode::Strict)
        .ok()
        .and_then(|e| e.output);
    assert_eq!(ev.as_deref(), Some("end"));
    v.set("V90", Some("#{V91}".into()));
    for i in 91..150 {
        v.set(format!("V{i}"), Some(format!("#{{V{}}}", i + 1)));
    }
    assert!(matches!(
        evaluate("#{V0}", &v, Mode::Strict),
        Err(TemplateError::TooDeep { .. })
    ));

    let nested = |n: usize| format!("{}x{}", "#{if a}".repeat(n), "#{/if}".repeat(n));
    assert_eq!(strict(&nested(150), &[("a", "1")]), "x");
    let too_deep = nested(400);
    assert_eq!(strict(&too_deep, &[("a", "1")]), too_deep);
    // Too deep for `calc`: the template does not parse, and strict mode returns it unchanged.
    let calc = format!("#{{calc {}1{}}}", "(".repeat(400), ")".repeat(400));
    assert_eq!(
        strict(&calc, &[]),
        format!("#{{calc {}1{}}}", "(".repeat(400), ")".repeat(400))
    );
}

#[test]
fn unclosed_blocks_parse_in_linear_time() {
    // Each unclosed `#{if a}` is tried as a conditional whose body is all the text after it,
    // then read as a substitution; the parser used to try every later token again for each
    // earlier one, doubling the time with each (22 of them took 22 s in a debug build).
    let unclosed = "#{if a}".repeat(150) + "x";
    let ev = run(&unclosed, &[("a", "1")], Mode::Strict);
    assert_eq!(ev.output.as_deref(), Some(unclosed.as_str()));
    assert!(ev.error.is_some_and(|e| e.contains("if a")));
    assert_eq!(cont(&unclosed, &[("a", "1")]), unclosed);
    let unless = "#{unless a}y".repeat(150);
    assert_eq!(strict(&unless, &[("a", "1")]), unless);
    let options = format!("#{{a | Replace {}}}", "#{if a} ".repeat(150));
    assert!(evaluate(&options, &vars(&[("a", "1")]), Mode::Strict).is_ok());

    // Past the nesting limit the whole strict parse fails (the text comes back unchanged,
    // with the parse error) and continue mode keeps the rest as text.
    let many = "#{if a}".repeat(9000);
    let ev = run(&many, &[("a", "1")], Mode::Strict);
    assert_eq!(ev.output.as_deref(), Some(many.as_str()));
    assert!(
        ev.error
            .is_some_and(|e| e.contains("nest more than 200 levels deep"))
    );
    assert!(check_syntax(&many).is_err_and(|e| e.is_parse()));
    assert_eq!(cont(&many, &[("a", "1")]), many);
    let prefixed = format!("#{{a}}-{many}");
    assert_eq!(cont(&prefixed, &[("a", "1")]), format!("1-{many}"));
}

#[test]
fn variables_are_shareable_and_keep_their_tree_current() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Variables>();
    let mut v = Variables::new();
    for i in 0..5000 {
        v.set(
            format!("Octopus.Step[{i}].Action[{i}]"),
            Some("Value".into()),
        );
    }
    v.set("Foo", Some("a".into()));
    let snapshot = v.clone();
    v.set("foo", Some("b".into()));
    v.set("Foo!", Some("c".into()));
    let eval = |vars: &Variables| {
        evaluate("#{Foo}", vars, Mode::Strict)
            .ok()
            .and_then(|e| e.output)
    };
    assert_eq!(eval(&snapshot).as_deref(), Some("a"));
    assert_eq!(eval(&v).as_deref(), Some("c"));
    assert_eq!(
        strict("#{Octopus.Step[42].Action[42]}", &[]),
        "#{Octopus.Step[42].Action[42]}"
    );
    let found = evaluate("#{Octopus.Step[4999].Action[4999]}", &v, Mode::Strict)
        .ok()
        .and_then(|e| e.output);
    assert_eq!(found.as_deref(), Some("Value"));
}

#[test]
fn now_dates_chain_into_format() {
    assert_eq!(
        strict("#{ | NowDateUtc | Format DateTimeOffset zz}", &[]),
        "+00"
    );
    let year = strict("#{ | NowDate yyyy}", &[]);
    assert_eq!(year.len(), 4, "{year}");
    assert_eq!(
        strict("#{Foo | NowDate}", &[("Foo", "x")]),
        "#{Foo | NowDate}"
    );
    let shifted = strict(
        "#{D | AddHours 2 | Format \"yyyy-MM-dd HH:mm:ss\"}",
        &[("D", "2030-05-22 09:05:00")],
    );
    assert_eq!(shifted, "2030-05-22 11:05:00");
}

#[test]
fn extensions_run_when_the_built_in_is_missing_or_null() {
    let mut v = vars(&[("Foo", "Bar")]);
    v.add_extension("testFunc", |input, options| {
        options
            .is_empty()
            .then(|| input.unwrap_or("").to_lowercase())
    });
    v.add_extension("ToUpper", |_, _| Some("extension".into()));
    let eval = |t: &str| evaluate(t, &v, Mode::Strict).ok().and_then(|e| e.output);
    assert_eq!(eval("#{Foo|testFunc}").as_deref(), Some("bar"));
    assert_eq!(
        eval("#{Foo | TESTFUNC x}").as_deref(),
        Some("#{Foo | TESTFUNC \"x\"}")
    );
    assert_eq!(eval("#{Foo | ToUpper}").as_deref(), Some("BAR"));
    assert_eq!(eval("#{Foo | ToUpper x}").as_deref(), Some("extension"));
}

/// `E0 = x`, `Ei = #{Ei-1}#{Ei-1}`: the text and the work double at each level.
fn doubling(levels: usize, seed: &str) -> Variables {
    let mut v = vars(&[("E0", seed)]);
    for i in 1..=levels {
        v.set(format!("E{i}"), Some(format!("#{{E{0}}}#{{E{0}}}", i - 1)));
    }
    v
}

#[test]
fn doubling_values_stop_at_the_step_limit() {
    let v = doubling(40, "x");
    let err = evaluate("#{E40}", &v, Mode::Continue).unwrap_err();
    assert!(
        matches!(err, TemplateError::TooMuchWork { limit } if limit == Limits::DEFAULT.max_steps)
    );
    assert!(
        err.is_limit() && err.to_string().contains("evaluation steps"),
        "{err}"
    );
    // Ten levels are fine.
    let ten = evaluate("#{E10}", &v, Mode::Continue)
        .unwrap()
        .output
        .unwrap();
    assert_eq!(ten.len(), 1024);
}

#[test]
fn a_text_past_the_output_limit_is_an_error() {
    let v = doubling(40, &"x".repeat(1 << 20));
    let err = evaluate("#{E40}", &v, Mode::Continue).unwrap_err();
    assert_eq!(
        err,
        TemplateError::TooLarge {
            limit: Limits::DEFAULT.max_output_bytes
        }
    );
    let small = Limits {
        max_output_bytes: 10,
        ..Limits::DEFAULT
    };
    let v = vars(&[("A", "12345"), ("L", "a,b,c")]);
    let ok = evaluate_within("#{A}#{A}", &v, Mode::Continue, small).unwrap();
    assert_eq!(ok.output.as_deref(), Some("1234512345"));
    for template in ["#{A}#{A}!", "#{each i in L}#{A}#{/each}"] {
        let err = evaluate_within(template, &v, Mode::Continue, small).unwrap_err();
        assert_eq!(err, TemplateError::TooLarge { limit: 10 }, "{template}");
    }
}

#[test]
fn loops_count_as_steps_even_with_an_empty_body() {
    let few = Limits {
        max_steps: 100,
        ..Limits::DEFAULT
    };
    let list = vec!["1"; 1000].join(",");
    let v = vars(&[("L", &list)]);
    for template in ["#{each i in L}#{/each}", "#{each i in L}#{i}#{/each}"] {
        let err = evaluate_within(template, &v, Mode::Continue, few).unwrap_err();
        assert_eq!(err, TemplateError::TooMuchWork { limit: 100 }, "{template}");
    }
    let short = vars(&[("L", "1,2,3")]);
    let ok = evaluate_within("#{each i in L}#{i}#{/each}", &short, Mode::Continue, few);
    assert_eq!(ok.unwrap().output.as_deref(), Some("123"));
}

#[test]
fn a_set_cancel_flag_stops_a_long_evaluation() {
    use std::sync::atomic::AtomicBool;
    let v = doubling(40, "x");
    let template = parser::parse_strict("#{E40}").unwrap();
    let run = |flag: &AtomicBool| {
        let root = eval::Scope::new(Arc::clone(&v.tree), None);
        let engine = eval::Engine::new(&v.extensions, Limits::DEFAULT, Some(flag));
        let mut out = String::new();
        engine.eval_template(&template, &root, &mut eval::Sink::default(), &mut out)
    };
    assert_eq!(run(&AtomicBool::new(true)), Err(TemplateError::Cancelled));
    assert!(matches!(
        run(&AtomicBool::new(false)),
        Err(TemplateError::TooMuchWork { .. })
    ));
}

#[test]
fn filter_options_may_be_several_nested_tokens() {
    let pairs = [("V1", "abc"), ("match", "b"), ("replace", "_")];
    assert_eq!(strict("#{V1 | Replace #{match} #{replace}}", &pairs), "a_c");
    assert_eq!(cont("#{V1 | Replace #{match} #{replace}}", &pairs), "a_c");
    assert_eq!(strict("#{V1 | Replace #{match} x}", &pairs), "axc");
    assert_eq!(strict("#{V1 | Replace b #{replace} }", &pairs), "a_c");
}
