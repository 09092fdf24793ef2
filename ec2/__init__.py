"""Running a training run on an Amazon EC2 GPU instance (see ``ec2/README.md``).

One concern a module:

- :mod:`ec2.launcher`: the command line ``ec2/launch``;
- :mod:`ec2.spec`: :class:`~ec2.spec.LaunchSpec`, every option of a run (``launch.json``);
- :mod:`ec2.preflight`: the checks before anything is created;
- :mod:`ec2.plan`: the launch plan, pure functions (names, policies, cost cap, user-data);
- :mod:`ec2.catalog`: the supported instance types, prices and the study's speeds;
- :mod:`ec2.lifecycle`: launch, relaunch, terminate;
- :mod:`ec2.progress`: status, logs, fetch;
- :mod:`ec2.aws`: every AWS call;
- on the instance: ``ec2/bootstrap.sh`` (the user-data), ``ec2/install_env.sh`` (the
  environment), :mod:`ec2.instance` and :mod:`ec2.transfer` (uploads that never lose a run),
  :mod:`ec2.check_device` (the self-test before the first epoch).
"""
