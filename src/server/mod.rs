//! The local stand-in PiecesOS (being written).
