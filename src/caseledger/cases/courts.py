"""Immigration courts known to the system, with the time zone their hearings are held in."""

COURTS: list[tuple[str, str, str]] = [
    ("NYC", "New York - Broadway Immigration Court", "America/New_York"),
    ("NEW", "Newark Immigration Court", "America/New_York"),
    ("BOS", "Boston Immigration Court", "America/New_York"),
    ("MIA", "Miami Immigration Court", "America/New_York"),
    ("ATL", "Atlanta Immigration Court", "America/New_York"),
    ("CHI", "Chicago Immigration Court", "America/Chicago"),
    ("HOU", "Houston Immigration Court", "America/Chicago"),
    ("DAL", "Dallas Immigration Court", "America/Chicago"),
    ("DEN", "Denver Immigration Court", "America/Denver"),
    ("PHO", "Phoenix Immigration Court", "America/Phoenix"),
    ("LOS", "Los Angeles Immigration Court", "America/Los_Angeles"),
    ("SFR", "San Francisco Immigration Court", "America/Los_Angeles"),
    ("SEA", "Seattle Immigration Court", "America/Los_Angeles"),
    ("HON", "Honolulu Immigration Court", "Pacific/Honolulu"),
]
