//! The one integration test binary: every integration test is a module here, so the suite
//! links once.

mod browser;
mod console;
mod helpers;
mod keys;
mod models;
mod ops;
mod providers;
