#!/bin/bash
#SBATCH --job-name=eb-scenario-0123456789ab-1
#SBATCH --output=/scratch/ecobrain/jobs/scenario-0123456789ab-1/job.out
#SBATCH --error=/scratch/ecobrain/jobs/scenario-0123456789ab-1/job.err
#SBATCH --time=06:00:00
#SBATCH --nodes=2
#SBATCH --ntasks=64
#SBATCH --cpus-per-task=1
#SBATCH --mem=120G
#SBATCH --partition=hpc
#SBATCH --account=zj-aq
#SBATCH --exclusive
#
# ecobrain job scenario-0123456789ab-1: CMAQ CCTM scenario run, 72 h from 2026-11-25 16:00 UTC
# on grid ZJ3KM, mechanism cb6r5_ae7_aq.
# request:  req-0123456789abcdef (Ningbo petrochemical VOCs -20 %)
# scenario: baseline /data/runs/zj3km-2026112512
#           LDAR at petrochemical plants (1 factor(s); DESID rules in /scratch/ecobrain/jobs/scenario-0123456789ab-1/desid/CMAQ_Control_DESID_cb6r5_ae7_aq.nml)
# written:  2026-11-25T08:00:00Z by ecobrain
#
# The run follows CMAQ's run_cctm script: one CCTM execution per 24 hours, each starting from
# the previous one's CGRID. Site inputs (GRIDDESC, met, emissions, IC/BC, namelists) come from
# the site file sourced before each execution with YYYYMMDD, YYYYJJJ, YESTERDAY, NEW_START and
# OUTDIR set: /share/cmaq/zj3km/site_env.sh
# The last step merges the daily files and writes run.json for ecobrain.
set -euo pipefail
module load netcdf/4.9
module load cmaq/5.4
export OMP_NUM_THREADS=1

export RUNID=scenario-0123456789ab-1
export WORKDIR=/scratch/ecobrain/jobs/scenario-0123456789ab-1
export OUTDIR=/scratch/ecobrain/jobs/scenario-0123456789ab-1/run
export LOGDIR="$OUTDIR/LOGS"
export MECH=cb6r5_ae7_aq
export GRID_NAME=ZJ3KM
CCTM_EXE=${CMAQ_HOME}/CCTM/scripts/BLD_CCTM_v54/CCTM_v54.exe
NPROCS=64
export NPCOL_NPROW="1 ${NPROCS}"
START_DATE=2026-11-25
STTIME=160000
TOTAL_HOURS=72
NCHUNKS=3  # 24-hour CCTM executions

export CTM_TSTEP=010000
export EXECUTION_ID="ecobrain_${RUNID}_$(date -u +%Y%m%d_%H%M%S)"
export STDOUT=T

# Emission scaling for this scenario (CMAQ DESID): the build's namelists with ecobrain's rules
# and region definitions added, and the region masks they refer to.
export DESID_CTRL_NML=/scratch/ecobrain/jobs/scenario-0123456789ab-1/desid/CMAQ_Control_DESID.nml
export DESID_CHEM_CTRL_NML=/scratch/ecobrain/jobs/scenario-0123456789ab-1/desid/CMAQ_Control_DESID_cb6r5_ae7_aq.nml
export ECOBRAIN_REGIONS=/scratch/ecobrain/jobs/scenario-0123456789ab-1/desid/ecobrain_regions.nc
export CTM_ISAM=N

echo "ecobrain job ${RUNID}: started on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
mkdir -p "$OUTDIR" "$LOGDIR"
cd "$WORKDIR"

START_S=$(date -ud "$START_DATE ${STTIME:0:2}:${STTIME:2:2}:${STTIME:4:2}" +%s)
PREV_APPL=""
for (( CHUNK = 1; CHUNK <= NCHUNKS; CHUNK++ )); do
  CUR_S=$(( START_S + (CHUNK - 1) * 86400 ))
  export YYYYMMDD=$(date -ud "@$CUR_S" +%Y%m%d)
  export YYYYJJJ=$(date -ud "@$CUR_S" +%Y%j)
  export YESTERDAY=$(date -ud "@$(( CUR_S - 86400 ))" +%Y%m%d)
  export CTM_APPL="${RUNID}_${YYYYMMDD}"
  if (( CHUNK == 1 )); then export NEW_START=TRUE; else export NEW_START=FALSE; fi

  # Site inputs for this execution: GRIDDESC, MET_*, GRID_*, emission streams, BNDY_CONC_1,
  # INIT_CONC_1 (first execution), OMI, namelists ...
  source /share/cmaq/zj3km/site_env.sh
  if (( CHUNK > 1 )); then
    export INIT_CONC_1="$OUTDIR/CCTM_CGRID_${PREV_APPL}.nc"
  fi

  HOURS_LEFT=$(( TOTAL_HOURS - (CHUNK - 1) * 24 ))
  (( HOURS_LEFT > 24 )) && HOURS_LEFT=24
  export CTM_STDATE=$YYYYJJJ
  export CTM_STTIME=$(date -ud "@$CUR_S" +%H%M%S)
  export CTM_RUNLEN=$(printf '%02d0000' "$HOURS_LEFT")

  export S_CGRID="$OUTDIR/CCTM_CGRID_${CTM_APPL}.nc"
  export CTM_CONC_1="$OUTDIR/CCTM_CONC_${CTM_APPL}.nc -v"
  export A_CONC_1="$OUTDIR/CCTM_ACONC_${CTM_APPL}.nc -v"
  export MEDIA_CONC="$OUTDIR/CCTM_MEDIA_CONC_${CTM_APPL}.nc -v"
  export CTM_DRY_DEP_1="$OUTDIR/CCTM_DRYDEP_${CTM_APPL}.nc -v"
  export CTM_WET_DEP_1="$OUTDIR/CCTM_WETDEP1_${CTM_APPL}.nc -v"
  export FLOOR_FILE="$OUTDIR/FLOOR_${CTM_APPL}.txt"

  echo "CMAQ ${YYYYMMDD} ${CTM_STTIME} (${HOURS_LEFT} h) began at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  srun -n "$NPROCS" "$CCTM_EXE"
  if [[ ! -e "$OUTDIR/CCTM_CGRID_${CTM_APPL}.nc" ]]; then
    echo "CCTM did not write its CGRID file for ${CTM_APPL}: the run stops here" >&2
    exit 1
  fi
  PREV_APPL=$CTM_APPL
done

# One file per output for the whole run: concatenate the daily files along TSTEP.
ncrcat -O "$OUTDIR"/CCTM_ACONC_"${RUNID}"_*.nc "$OUTDIR/CCTM_ACONC_${RUNID}.nc"

# The run's manifest for ecobrain (docs/model-runs.md), written last.
cat > "$OUTDIR/run.json.part" <<'ECOBRAIN_MANIFEST'
{
  "id": "scenario-0123456789ab-1",
  "model": "CMAQ CCTM",
  "init_time": "2026-11-26T00:00:00+08:00",
  "description": "CMAQ CCTM scenario run submitted by ecobrain (request req-0123456789abcdef); scenario: LDAR at petrochemical plants",
  "outputs": [
    {
      "kind": "forecast",
      "format": "ioapi",
      "path": "CCTM_ACONC_scenario-0123456789ab-1.nc"
    }
  ]
}
ECOBRAIN_MANIFEST
mv "$OUTDIR/run.json.part" "$OUTDIR/run.json"
echo "ecobrain job ${RUNID}: finished at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
