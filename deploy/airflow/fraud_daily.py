"""The daily fraud pipeline as an Airflow DAG that drives the `lathe` CLI.

Each task is one `lathe task run fraud-daily TASK --date {{ ds }}` call, the
same code path `lathe pipeline run` and `lathe scheduler` use, so task state,
tries and logs land in the same tables (see docs/pipelines.md). Airflow owns
scheduling and retries here; Lathe keeps exactly-once per task and run date:
a task that already succeeded for a date is a no-op, so Airflow's retries and
clears are safe.

Set the Airflow Variables `lathe_bin` (default: lathe), `lathe_data_dir`,
`lathe_db` (a postgres:// URL shared by the workers) and `lathe_dags` (the
folder holding fraud-daily.yaml).
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

LATHE = (
    "{{ var.value.get('lathe_bin', 'lathe') }}"
    " --data-dir {{ var.value.get('lathe_data_dir', '/var/lib/lathe') }}"
)
DB_AND_DAGS = (
    " --db {{ var.value.get('lathe_db', '') }}"
    " --dags {{ var.value.get('lathe_dags', '/etc/lathe/pipelines') }}"
)
TASKS = ["extract", "validate", "features", "train", "evaluate", "promote", "deploy"]

default_args = {
    "owner": "ml-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
}

with DAG(
    dag_id="fraud_daily",
    description="Daily fraud model retraining with a champion/challenger gate (lathe)",
    schedule="0 2 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=True,
    max_active_runs=1,
    default_args=default_args,
    tags=["lathe", "fraud"],
) as dag:
    steps = {}
    for task in TASKS:
        steps[task] = BashOperator(
            task_id=task,
            # Exit 1: the task failed (Airflow retries it); exit 2: bad input.
            bash_command=f"{LATHE} task run fraud-daily {task} --date {{{{ ds }}}}{DB_AND_DAGS}",
            # A failed data check is a verdict, not a glitch: do not retry it.
            retries=0 if task == "validate" else default_args["retries"],
            execution_timeout=timedelta(hours=2) if task == "train" else default_args["execution_timeout"],
        )
    (
        steps["extract"]
        >> steps["validate"]
        >> steps["features"]
        >> steps["train"]
        >> steps["evaluate"]
        >> steps["promote"]
        >> steps["deploy"]
    )
