//! Every model's decode -> encode -> decode: whatever decodes must encode, decode again to an equal
//! model, and encode again to the same text. The first byte picks the model, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pieces_os_client::__private::Model;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let model = Model::ALL[usize::from(pick) % Model::ALL.len()];
    if let Err(loss) = model.round_trip(body) {
        panic!("{model:?}: {loss}");
    }
});
