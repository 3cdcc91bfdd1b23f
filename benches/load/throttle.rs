//! The login throttle's own cost (issue 8): its statements timed one by one from here on the
//! server's database, while the server is idle. A reservation is one
//! `INSERT … ON CONFLICT … DO UPDATE … RETURNING` and a settlement one `UPDATE`; half the
//! cycles use a new account key (the insert path), half one account again (the update path).

use std::time::{Duration, Instant};

use switchboard::{
    clock::Clock,
    models::login_throttle::{Keys, LoginThrottle},
};

use crate::client::{Outcome, Samples};

/// Reserve-and-settle cycles timed.
pub const CYCLES: usize = 2_000;

/// Latencies of the reservations and of the settlements.
pub struct Cost {
    pub reserve: Samples,
    pub settle: Samples,
    /// `SELECT 1` on the same connection: the round trip every statement pays.
    pub select_one: Samples,
}

/// Times [`CYCLES`] reservations and settlements on the database at `url`.
pub async fn measure(url: &str) -> anyhow::Result<Cost> {
    let pool = switchboard::db::pool(url, 1)?;
    let throttle = LoginThrottle::new(pool.clone(), Clock::default());
    let mut conn = pool.get().await?;
    let (mut reserve, mut settle) = (Samples::default(), Samples::default());
    let mut select_one = Samples::default();
    for i in 0..CYCLES {
        let email = if i % 2 == 0 {
            format!("throttle-bench-{i}@example.com")
        } else {
            "throttle-bench@example.com".to_owned()
        };
        // A key string only: nothing is sent to this address.
        let keys = Keys::new(&email, Some("127.0.0.200"));
        let started = Instant::now();
        let reservation = throttle
            .reserve(&mut conn, keys)
            .await?
            .map_err(|r| anyhow::anyhow!("the bench's attempt was refused: {}", r.message))?;
        reserve.record(started.elapsed(), Outcome::Ok);
        let started = Instant::now();
        reservation.succeeded(&mut conn).await?;
        settle.record(started.elapsed(), Outcome::Ok);
        let started = Instant::now();
        diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut conn).await?;
        select_one.record(started.elapsed(), Outcome::Ok);
    }
    Ok(Cost {
        reserve,
        settle,
        select_one,
    })
}

impl Cost {
    /// Prints p50/p99 of both statements.
    pub fn print(&mut self) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "\nlogin throttle, {CYCLES} reserve + settle cycles from the bench on the server's \
             database (idle server):"
        );
        for (name, samples) in [
            (
                "reserve (INSERT … ON CONFLICT … RETURNING)",
                &mut self.reserve,
            ),
            ("settle (UPDATE)", &mut self.settle),
            (
                "SELECT 1 (the round trip, for reference)",
                &mut self.select_one,
            ),
        ] {
            println!(
                "  {name:<44} p50 {:.3} ms  p99 {:.3} ms",
                ms(samples.quantile(0.50)),
                ms(samples.quantile(0.99))
            );
        }
    }
}
