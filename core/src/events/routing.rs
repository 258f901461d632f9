//! Which functions receive which domain events: the one routing table. The template's
//! EventBridge rules mirror it (a test proves they agree), and local runs deliver events
//! to the functions served by `cargo lambda watch` from it.

/// One route: a detail-type and the functions that receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The EventBridge detail-type.
    pub detail_type: &'static str,
    /// The target functions (their names in `functions/` and in the template).
    pub targets: &'static [&'static str],
}

/// The routing table.
pub const ROUTES: &[Route] = &[
    Route {
        detail_type: "ContactAdded",
        targets: &["growth-on-event", "points-on-event"],
    },
    Route {
        detail_type: "ContactRemoved",
        targets: &["growth-on-event", "points-on-event"],
    },
    Route {
        detail_type: "MemberJoinedGroup",
        targets: &["growth-on-event", "points-on-event"],
    },
    Route {
        detail_type: "MemberLeftGroup",
        targets: &["growth-on-event", "points-on-event"],
    },
    Route {
        detail_type: "PointsJobCreated",
        targets: &["points-jobs"],
    },
    Route {
        detail_type: "StageEntered",
        targets: &["sop-on-event"],
    },
    Route {
        detail_type: "CustomerReplied",
        targets: &["sop-on-event"],
    },
    Route {
        detail_type: "GroupOwnerChanged",
        targets: &["sop-on-event"],
    },
    Route {
        detail_type: "GroupDismissed",
        targets: &["sop-on-event"],
    },
    Route {
        detail_type: "StaffDeparted",
        targets: &["sop-on-event"],
    },
    Route {
        detail_type: "ResyncRequested",
        targets: &["directory-resync"],
    },
    Route {
        detail_type: "CustomerInteracted",
        targets: &["link-notify"],
    },
    Route {
        detail_type: "FormSubmitted",
        targets: &["growth-on-event"],
    },
];

/// The functions a detail-type is delivered to (empty: published, consumed by nobody yet).
pub fn targets(detail_type: &str) -> &'static [&'static str] {
    ROUTES
        .iter()
        .find(|r| r.detail_type == detail_type)
        .map(|r| r.targets)
        .unwrap_or(&[])
}
