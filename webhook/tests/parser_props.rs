//! Property tests over the payload parser (a bounded fuzz run in CI): arbitrary bytes and mutated real payloads
//! never panic, and every rejection is a specific error; valid notifications with arbitrary label values round-trip.

use proptest::prelude::*;

use infermon_webhook::payload::{parse, PayloadError};

fn fixture() -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/alertmanager-firing-3alerts-cloudeon.json");
    std::fs::read_to_string(p).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_real_payloads_never_panic(cut in 0usize..1500, insert in "[\\[\\]{}\":,0-9a-z\\\\ ]{0,8}") {
        let f = fixture();
        let cut = cut.min(f.len());
        let cut = (0..=cut).rev().find(|i| f.is_char_boundary(*i)).unwrap();
        let mutated = format!("{}{}{}", &f[..cut], insert, &f[cut..]);
        match parse(mutated.as_bytes()) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn hostile_label_values_round_trip(value in "\\PC{0,40}", name in "[a-zA-Z_][a-zA-Z0-9_]{0,10}") {
        let body = serde_json::json!({
            "version": "4", "groupKey": "{}:{}", "status": "firing",
            "alerts": [{"status": "firing", "labels": {name.clone(): value.clone()}, "startsAt": "2024-01-01T00:00:00Z"}]
        });
        let n = parse(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&n.alerts[0].labels[&name], &value);
    }

    #[test]
    fn wrong_types_name_a_field(v in prop_oneof![Just(serde_json::json!(1)), Just(serde_json::json!([1])), Just(serde_json::json!({"a": 1}))]) {
        let body = serde_json::json!({"version": "4", "alerts": [{"labels": {"x": v}}]});
        match parse(body.to_string().as_bytes()) {
            Err(PayloadError::Field { path, .. }) => prop_assert_eq!(path, "alerts[0].labels.x"),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
