//! The JSON examples in `docs/query-model/examples/` (shared with the frontend's contract test) parse, validate,
//! translate, and survive a serialise → parse round trip unchanged.

use infermon_core::query::Query;
use std::path::Path;

#[test]
fn documented_examples_parse_translate_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/query-model/examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let query = Query::from_json(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let t = infermon_core::translate(&query, &Default::default());
        assert!(t.is_ok(), "{}: {:?}", path.display(), t);
        let again = Query::from_json(&serde_json::to_value(&query).unwrap()).unwrap();
        assert_eq!(again, query, "{}", path.display());
        count += 1;
    }
    assert!(count >= 8, "only {count} examples");
}
