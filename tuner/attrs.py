"""Names of the study and trial attributes that layers pass to each other through the storage
(what optimize writes and reports read). Imports nothing, so every layer can use it."""

UNITS = "units"  # study: {parameter: "bytes" | "seconds"} for ranges written with units
WORKLOADS = "workloads"  # trial: {workload label: the statistic of its repeats on that value}
