//! Poster rendering per inviter (`scripts/bench.sh posters`): the SVG of one inviter's
//! fission poster (`scrm_core::growth::fission::render_poster`), timed per poster over
//! inviters with different names, beside a baseline measured in the same run: the JSON
//! serialisation of the same template, which every page read of a campaign does anyway.
//! Figures are per poster, p50 and p99 of batches of 1,000.
use scrm_core::growth::fission::{render_poster, PosterFill, PosterTemplate, SquareSpot, TextSpot};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 1_000;
const BATCHES: usize = 200;

fn template() -> PosterTemplate {
    PosterTemplate {
        background_url: "https://cdn.example.com/campaigns/2026/poster-background.png".into(),
        width: 750,
        height: 1334,
        name: TextSpot {
            x: 40,
            y: 120,
            size: 32,
            color: "#333333".into(),
        },
        avatar: SquareSpot {
            x: 40,
            y: 140,
            size: 96,
        },
        qr: SquareSpot {
            x: 475,
            y: 1059,
            size: 240,
        },
    }
}

/// Nanoseconds per item of each batch, sorted.
fn batches(mut one: impl FnMut(usize) -> usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(BATCHES);
    let mut sink = 0usize;
    for b in 0..BATCHES {
        let start = Instant::now();
        for i in 0..BATCH {
            sink = sink.wrapping_add(one(b * BATCH + i));
        }
        out.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    black_box(sink);
    out.sort_by(f64::total_cmp);
    out
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let t = template();
    let names: Vec<String> = (0..1000)
        .map(|i| format!("客户{i}号 <&\"{}\">", "王".repeat(i % 20)))
        .collect();
    let avatars: Vec<String> = (0..1000)
        .map(|i| format!("https://wx.qlogo.cn/mmhead/{i:08}/0?x=1&y=2"))
        .collect();
    // Warm up both.
    for i in 0..10_000 {
        black_box(render_poster(
            &t,
            &PosterFill {
                name: &names[i % 1000],
                avatar_url: Some(&avatars[i % 1000]),
                qr_url: "https://wework.qpic.cn/wwpic/qr/abc",
            },
        ));
        black_box(serde_json::to_string(&t).unwrap_or_default());
    }
    let baseline = batches(|_| serde_json::to_string(black_box(&t)).map_or(0, |s| s.len()));
    let poster = batches(|i| {
        render_poster(
            &t,
            &PosterFill {
                name: &names[i % 1000],
                avatar_url: Some(&avatars[i % 1000]),
                qr_url: "https://wework.qpic.cn/wwpic/qr/abc",
            },
        )
        .len()
    });
    let size = render_poster(
        &t,
        &PosterFill {
            name: &names[999],
            avatar_url: Some(&avatars[999]),
            qr_url: "https://wework.qpic.cn/wwpic/qr/abc",
        },
    )
    .len();
    println!("poster rendering per inviter ({BATCHES} batches of {BATCH}):");
    println!(
        "  render_poster            p50 {:>8.0} ns   p99 {:>8.0} ns   ({size} bytes of SVG)",
        pct(&poster, 0.5),
        pct(&poster, 0.99)
    );
    println!(
        "  baseline: template JSON  p50 {:>8.0} ns   p99 {:>8.0} ns",
        pct(&baseline, 0.5),
        pct(&baseline, 0.99)
    );
    println!(
        "  ratio p50 {:.2}x the baseline",
        pct(&poster, 0.5) / pct(&baseline, 0.5)
    );
}
