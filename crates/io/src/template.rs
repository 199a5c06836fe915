//! The commented starter scenario written by `gigawatt init`.

/// A small, commented scenario that passes `gigawatt check`.
pub const STARTER_SCENARIO: &str = include_str!("starter.toml");
