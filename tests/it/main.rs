//! The one integration test binary.

mod providers;
