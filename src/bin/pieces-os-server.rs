//! The local stand-in PiecesOS as a program (being written).
fn main() {}
