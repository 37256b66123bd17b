"""Method support for questions whose shipped help text is empty (published versions cannot be
changed, so the explanation for Stockholm's questions lives here, keyed by question code)."""

from __future__ import annotations

MEANING: dict[str, str] = {
    "q1": (
        "Om klienten får det stöd som beslutet säger: rätt insats, i den omfattning och med den "
        "inriktning som beviljats. Ha beslutet framför dig och påminn kort om vad det gäller."
    ),
    "q2": (
        "Delaktighet: om klienten har fått vara med och bestämma hur stödet ges, till exempel "
        "genomförandeplanen, tider och mål. Gäller utföraren, inte socialtjänstens utredning."
    ),
    "q3": "Klientens helhetsomdöme om stödet från utföraren, just nu.",
    "q4": (
        "Om klientens situation har förändrats det senaste året av stödet från socialtjänsten. "
        "Låt klienten själv avgöra vad som ingår i ”situationen”."
    ),
    "q5": (
        "Ställs bara när fråga 4 säger att situationen förbättrats: hur stor del av förbättringen "
        "klienten tillskriver stödet."
    ),
}
