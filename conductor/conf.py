"""Options of the conductors."""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf.groups import register_group_opts

conductor_group = cfg.OptGroup("conductor", help="The super and cell conductors.")

conductor_opts = [
    cfg.StrOpt("role", default="super", choices=["super", "cell"],
               help="super: the API-level conductor (API bus, API DB, every cell for casts); "
                    "cell: a cell's conductor (its cell bus and DB only), which handles "
                    "reschedules with the alternates it is given and never calls up."),
    cfg.StrOpt("alternates_from", default="config", choices=[
                   ("config", "[scheduler] max_attempts decides: the scheduler returns up to "
                              "max_attempts - 1 alternates and a build gets at most "
                              "max_attempts attempts (Nova)"),
                   ("request", "the caller decides: the RequestSpec's num_alternates is "
                               "passed to the scheduler, and a build gets at most "
                               "1 + num_alternates attempts, whatever max_attempts says "
                               "(the counter-proposal in the Queens design discussion)")],
               help="Who decides how many alternates a build gets. With request, the "
                    "attempt bound both conductors apply is 1 + the num_alternates the "
                    "request asked for (not the number the scheduler could find: fewer "
                    "hosts still end in 'Exhausted all hosts'), so 'Exceeded max scheduling "
                    "attempts N' names that N, and num_alternates = 0 disables rescheduling "
                    "as max_attempts = 1 does. A request without num_alternates falls back "
                    "to max_attempts. Ignored with [scheduler] legacy_retry."),
    cfg.StrOpt("unclaim_by", default="cell_conductor", choices=[
                   ("cell_conductor", "the cell conductor deletes the failed host's "
                                      "allocations before it claims an alternate (as "
                                      "the Queens design describes it)"),
                   ("compute", "the compute deletes them before it casts the reschedule, "
                               "and the cell conductor does not (Nova master)")],
               help="Who removes a failed build's placement allocations on a reschedule. "
                    "Either way the removal is recorded as an instance action event "
                    "(compute_unclaim_resources or conductor_unclaim_resources). Read by "
                    "the cell conductor and the compute; nothing to remove when [scheduler] "
                    "use_placement is false."),
    cfg.FloatOpt("build_timeout", default=600.0, min=0.0,
                 help="Seconds an instance may stay in BUILD (vm_state building) before its "
                      "cell conductor ends the build: the instance goes to ERROR with the "
                      "fault 'Build of instance U aborted: Instance build timed out ...', its "
                      "placement allocations are deleted, a conductor_build_timeout event is "
                      "recorded and compute_task.build_instances.error is notified, as for any "
                      "failed build. 0 disables it. Measured from the instance's created_at "
                      "in the cell DB (when the super conductor created it there), so time "
                      "spent in reschedules counts. The default, 10 minutes, is far longer "
                      "than any simulated spawn and than `altsim run`'s default --timeout, so "
                      "an ordinary run never meets it, yet a deployment left running does not "
                      "keep a build whose compute died or whose cast was lost in BUILD forever. "
                      "Nova's [DEFAULT] instance_build_timeout (default 0, disabled) is "
                      "checked by each compute's periodic task _check_instance_build_time, "
                      "for the instances on its own host only, and sets vm_state error "
                      "without a fault, without deleting allocations and without a "
                      "notification; altsim's cell conductor sweeps every instance of its "
                      "cell DB whatever its host (also one lost between two hosts, and one "
                      "whose compute is gone), and changes it only if it is still building "
                      "(a build that finishes at the same moment wins), while a compute that "
                      "finishes a build after its timeout leaves it in ERROR. With "
                      "[scheduler] legacy_retry the super conductor, which then serves the "
                      "one cell, sweeps it."),
    cfg.FloatOpt("build_timeout_interval", default=60.0, min=0.01,
                 help="Seconds between two sweeps for builds past build_timeout (a periodic "
                      "task of the cell conductor, like Nova's periodic tasks that run every "
                      "60 seconds): a stuck build goes to ERROR between build_timeout and "
                      "build_timeout + build_timeout_interval after it was created. Each "
                      "sweep is one query on the cell DB."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, conductor_group, conductor_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(conductor_group.name, conductor_opts)]
