//! The JSON-text check (what the C API and the `*_json` methods run) against the typed decode: for every
//! body and model, both accept it, or both refuse it with the same error; an accepted body comes back
//! unchanged and without a NUL byte; and the model's own walk (`Field::build`, which the typed decode runs
//! first) builds exactly what serde_json builds, and refuses exactly what it refuses. The first byte
//! picks the model, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pieces_os_client::__private::Model;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let model = Model::ALL[usize::from(pick) % Model::ALL.len()];
    let checked = model.checked_text(body.to_vec());
    let decoded = model.decode(body);
    if let Err(difference) = model.build_vs_serde(body) {
        panic!("{model:?}: the walk and serde_json differ: {difference}");
    }
    match (&checked, &decoded) {
        (Ok(text), Ok(())) => {
            assert_eq!(text.as_bytes(), body, "{model:?}: the check changed the body");
            assert!(!body.contains(&0), "{model:?}: checked text holds a NUL byte");
        }
        (Err(check), Err(decode)) => assert_eq!(
            check.to_string(),
            decode.to_string(),
            "{model:?}: the check and the decode refuse with different errors"
        ),
        _ => panic!(
            "{model:?}: the check says {:?}, the decode {:?}",
            checked.as_ref().map(drop),
            decoded
        ),
    }
});
