"""The renderers, in one place: what each command prints for a person (tables and text).
`--json` is `output.dump` of the same data. The command modules read options, make one call
into `tuner.app`, and hand its result here."""
