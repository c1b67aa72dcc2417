#!/bin/bash
#SBATCH --job-name=eb-attribution-0123456789ab-1
#SBATCH --output=/scratch/ecobrain/jobs/attribution-0123456789ab-1/job.out
#SBATCH --error=/scratch/ecobrain/jobs/attribution-0123456789ab-1/job.err
#SBATCH --time=03:00:00
#SBATCH --nodes=1
#SBATCH --ntasks=32
#SBATCH --cpus-per-task=1
#SBATCH --partition=hpc
#SBATCH --account=zj-aq
#SBATCH --exclusive
#
# ecobrain job attribution-0123456789ab-1: CMAQ CCTM attribution run, 36 h from 2026-11-26 00:00 UTC
# on grid ZJ3KM, mechanism cb6r5_ae7_aq.
# request:  req-0123456789abcdef
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

export RUNID=attribution-0123456789ab-1
export WORKDIR=/scratch/ecobrain/jobs/attribution-0123456789ab-1
export OUTDIR=/scratch/ecobrain/jobs/attribution-0123456789ab-1/run
export LOGDIR="$OUTDIR/LOGS"
export MECH=cb6r5_ae7_aq
export GRID_NAME=ZJ3KM
CCTM_EXE=${CMAQ_HOME}/CCTM/scripts/BLD_CCTM_v54/CCTM_v54.exe
NPROCS=32
export NPCOL_NPROW="1 ${NPROCS}"
START_DATE=2026-11-26
STTIME=000000
TOTAL_HOURS=36
NCHUNKS=2  # 24-hour CCTM executions

export CTM_TSTEP=010000
export EXECUTION_ID="ecobrain_${RUNID}_$(date -u +%Y%m%d_%H%M%S)"
export STDOUT=T

# Integrated Source Apportionment (ISAM)
export CTM_ISAM=Y
export SA_IOLIST=/share/cmaq/isam_control.txt
export ISAM_BLEV_ELEV=" 1 1"
export AISAM_BLEV_ELEV=" 1 1"

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
    export ISAM_NEW_START=N
    export ISAM_PREVDAY="$OUTDIR/CCTM_SA_CGRID_${PREV_APPL}.nc"
  else
    export ISAM_NEW_START=Y
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
  export SA_ACONC_1="$OUTDIR/CCTM_SA_ACONC_${CTM_APPL}.nc -v"
  export SA_CONC_1="$OUTDIR/CCTM_SA_CONC_${CTM_APPL}.nc -v"
  export SA_CGRID_1="$OUTDIR/CCTM_SA_CGRID_${CTM_APPL}.nc -v"

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
ncrcat -O "$OUTDIR"/CCTM_SA_ACONC_"${RUNID}"_*.nc "$OUTDIR/CCTM_SA_ACONC_${RUNID}.nc"

# The run's manifest for ecobrain (docs/model-runs.md), written last.
cat > "$OUTDIR/run.json.part" <<'ECOBRAIN_MANIFEST'
{
  "id": "attribution-0123456789ab-1",
  "model": "CMAQ CCTM",
  "init_time": "2026-11-26T08:00:00+08:00",
  "description": "CMAQ CCTM attribution run submitted by ecobrain (request req-0123456789abcdef)",
  "outputs": [
    {
      "kind": "forecast",
      "format": "ioapi",
      "path": "CCTM_ACONC_attribution-0123456789ab-1.nc"
    },
    {
      "kind": "attribution",
      "format": "ioapi",
      "path": "CCTM_SA_ACONC_attribution-0123456789ab-1.nc",
      "tags": {
        "NBPWR": {
          "region": "330200",
          "sector": "Power"
        }
      }
    }
  ]
}
ECOBRAIN_MANIFEST
mv "$OUTDIR/run.json.part" "$OUTDIR/run.json"
echo "ecobrain job ${RUNID}: finished at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
