"""Running a training run on an Amazon EC2 GPU instance.

``ec2/launch`` (the command line of :mod:`ec2.launcher`) creates an instance
whose user-data is ``ec2/bootstrap.sh``; the run folder comes back through S3.
See ``ec2/README.md``.
"""
