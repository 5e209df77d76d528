"""Names of the study and trial attributes that layers pass to each other through the storage
(what optimize and trial write, what reports and the dashboard read). Imports nothing, so every
layer can use it; the values are stored in studies and must not change."""

# Trial user attributes
REASON = "fail_reason"  # why a trial failed, in words
WARNINGS = "warnings"  # what could not be collected (profiles)
BASELINE = "baseline"  # the trial ran the default configuration
CONFIRM = "confirm"  # a re-run of a top configuration at the end of a study
CONFIRM_ROUND = "confirm_round"  # which round of the confirmation a re-run is in
SAMPLES = "samples"  # {workload label: [score of each repeat]}
SPREAD = "spread"  # {workload label: {"cv", "min", "max", "n"}}
WORKLOADS = "workloads"  # {workload label: the statistic of its repeats on that value}
DUPLICATE_OF = "duplicate_of"  # the trial whose configuration this one measured again
SWEEP = "sweep"  # the parameter a --measure sweep trial varied
METRICS = "metrics"  # {name: value}: the score, the job's metrics, peak memory, CPU time
METRIC_SAMPLES = "metric_samples"  # {name: [value of each measured run]}
CONSTRAINTS_MET = "constraints_met"  # {constraint as written: true when the trial keeps it}
PROGRESS = "progress"  # the intermediate values the trial's log printed, in order
PRUNED_AT = "pruned_at"  # {"step", "value", "pruner"} when a pruner stopped the trial
NODE = "node"  # --runner swarm: the node the trial's containers ran on
WARM_SEED = "warm_seed"  # an earlier study's configuration run first: {"study", "rank"}
RACE = "race"  # a racing run: {"id", "pair", "role": "candidate" | "incumbent", "candidate"}

# Study user attributes
JOB = "job"  # the job file's absolute path (for --measure)
MEASURING = "measuring"  # the --repeat and --workload it runs with
CONFIRMED = "confirmed"  # the winner chosen on confirmed measurements
OBJECTIVES = "objectives"  # [{"name", "direction"}] of a study with several objectives
STUDY_CONSTRAINTS = "constraints"  # the study's constraints, as written
WARM_START = "warm_start"  # where the study's prior came from, what was used and dropped
UNITS = "units"  # {parameter: "bytes" | "seconds"} for ranges written with units
