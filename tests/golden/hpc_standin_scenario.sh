#!/bin/bash
#SBATCH --job-name=eb-scenario-0123456789ab-1
#SBATCH --output=/scratch/ecobrain/jobs/scenario-0123456789ab-1/job.out
#SBATCH --error=/scratch/ecobrain/jobs/scenario-0123456789ab-1/job.err
#SBATCH --time=00:20:00
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --partition=hpc
#SBATCH --account=zj-aq
#SBATCH --exclusive
#
# ecobrain job scenario-0123456789ab-1: a scenario run of the STAND-IN MODEL.
# The stand-in is NOT a chemical transport model: it rescales the baseline run's concentrations
# by the ISAM tag contributions that the scenario's emission factors touch
# (C' = C - sum over tags of (1 - f_tag) * C_tag), so the ecobrain loop can be run and tested
# on one machine. Use model "cmaq" for a real CCTM run.
#
# request:  req-0123456789abcdef (Ningbo petrochemical VOCs -20 %)
# baseline: /data/runs/zj3km-2026112512
# measure:  LDAR at petrochemical plants
# written:  2026-11-25T08:00:00Z by ecobrain
set -euo pipefail
module load netcdf/4.9
module load cmaq/5.4
export OMP_NUM_THREADS=1

RUN_ID=scenario-0123456789ab-1
WORKDIR=/scratch/ecobrain/jobs/scenario-0123456789ab-1
OUTDIR=/scratch/ecobrain/jobs/scenario-0123456789ab-1/run
BASELINE=/data/runs/zj3km-2026112512
SCALING=/scratch/ecobrain/jobs/scenario-0123456789ab-1/desid/CMAQ_Control_DESID_cb6r5_ae7_aq.nml

echo "ecobrain job ${RUN_ID}: started on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
cd "$WORKDIR"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"

# The stand-in reads the DESID scaling rules, writes the scenario's IOAPI files and, as its
# last step, the run's run.json manifest.
/opt/ecobrain/.venv/bin/python -m ecobrain.hpc_jobs.standin_model \
    --baseline "$BASELINE" \
    --rules "$SCALING" \
    --out "$OUTDIR" \
    --run-id "$RUN_ID"

test -s "$OUTDIR/run.json" || { echo "no run.json written in $OUTDIR" >&2; exit 1; }
echo "ecobrain job ${RUN_ID}: finished at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
