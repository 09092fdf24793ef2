"""The launch specification: every option of a run, built once, kept in ``launch.json``.

A :class:`LaunchSpec` comes from the command line (:meth:`LaunchSpec.from_options`)
or from the run's ``launch.json`` (:meth:`LaunchSpec.from_json`); a manual
``resume`` or an automatic relaunch starts from the saved one and changes
only what it is told to (:meth:`LaunchSpec.replace`). Nothing here calls AWS
or imports Theano (the instance reads it to relaunch itself).

>>> spec = LaunchSpec(run_id='net6-1', net='net6', epochs=3, region='us-east-1',
...                   bucket='b-1', max_hours=1.0)
>>> LaunchSpec.from_json(spec.to_json()) == spec
True
>>> spec.replace(epochs=5).run_experiment_args()
['--epochs', '5']
"""
import dataclasses
import typing

from ec2 import catalog, plan
from errors import UserError

__all__ = ['LaunchSpec', 'SPEC_VERSION', 'LAUNCH_OPTIONS']

SPEC_VERSION = 2


@dataclasses.dataclass(frozen=True)
class LaunchSpec(object):
    """LaunchSpec(run_id, net, epochs, region, bucket, max_hours, ...)

    Every option of a run. ``epochs`` is the total the run trains to (the
    study's for the net unless given); ``max_hours`` is the cost cap of the
    whole run, every attempt included.
    """
    run_id: str
    net: str
    epochs: int
    region: str
    bucket: str
    max_hours: float
    prefix: str = plan.DEFAULT_PREFIX
    instance_type: str = catalog.DEFAULT_INSTANCE_TYPE
    spot: bool = True
    ami_parameter: str = plan.DEFAULT_AMI_PARAMETER
    subnet_id: typing.Optional[str] = None
    key_name: typing.Optional[str] = None
    ssh_from: typing.Optional[str] = None
    shutdown: bool = True
    max_restarts: int = 3
    cudnn: bool = False
    data_source: str = 's3'
    kaggle_token_parameter: typing.Optional[str] = None
    preprocess: typing.Optional[str] = None
    seed: typing.Optional[int] = None
    run_args: typing.Tuple[str, ...] = ()
    price_per_hour: typing.Optional[float] = None
    sec_per_epoch: typing.Optional[float] = None

    @classmethod
    def from_options(cls, options, run_id, study_epochs):
        """from_options(options, run_id, study_epochs) -> LaunchSpec

        From ``ec2/launch NET ...``'s options; ``study_epochs`` is the net's
        own number of epochs, used when ``--epochs`` is not given. The
        default cost cap comes from the estimate (:func:`ec2.plan.default_max_hours`).
        """
        epochs = options.epochs if options.epochs is not None else study_epochs
        if '--epochs' in options.run_args or any(a.startswith('--epochs=')
                                                 for a in options.run_args):
            raise UserError('give --epochs before --, not after: the launcher sizes the '
                            'cost cap from it')
        source = ('synthetic' if options.data == 'synthetic'
                  else 'kaggle' if options.kaggle_token_parameter else 's3')
        spec = cls(run_id=run_id, net=options.net, epochs=int(epochs), region=options.region,
                   bucket=options.bucket, max_hours=0.0, prefix=options.prefix,
                   instance_type=options.instance_type, spot=not options.on_demand,
                   ami_parameter=options.ami_parameter, subnet_id=options.subnet_id,
                   key_name=options.key_name, ssh_from=options.ssh_from,
                   shutdown=options.shutdown, max_restarts=options.max_restarts,
                   cudnn=options.cudnn, data_source=source,
                   kaggle_token_parameter=options.kaggle_token_parameter,
                   preprocess=options.preprocess, seed=options.seed,
                   run_args=tuple(options.run_args), price_per_hour=options.price_per_hour,
                   sec_per_epoch=options.sec_per_epoch)
        max_hours = options.max_hours
        if max_hours is None:
            max_hours = plan.default_max_hours(spec.epochs, spec.seconds_per_epoch[0])
        return spec.replace(max_hours=float(max_hours))

    @classmethod
    def from_json(cls, obj):
        """from_json(obj) -> LaunchSpec of a ``launch.json`` written by :meth:`to_json`"""
        if not isinstance(obj, dict) or obj.get('version') != SPEC_VERSION:
            raise UserError('launch.json of version %r: this launcher reads version %d '
                            '(launch the run again)' % (
                                obj.get('version') if isinstance(obj, dict) else None,
                                SPEC_VERSION))
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in obj.items() if k in names}
        values['run_args'] = tuple(values.get('run_args', ()))
        return cls(**values)

    def to_json(self):
        """to_json() -> dict for ``launch.json`` (with its format's version)"""
        obj = dataclasses.asdict(self)
        obj['run_args'] = list(self.run_args)
        obj['version'] = SPEC_VERSION
        return obj

    def replace(self, **changes):
        """replace(**changes) -> a copy with these options changed"""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ what follows from it

    @property
    def layout(self):
        return plan.s3_layout(self.bucket, self.prefix, self.run_id)

    @property
    def names(self):
        return plan.run_names(self.run_id)

    @property
    def seconds_per_epoch(self):
        """(seconds, source): ``--sec-per-epoch`` or the study's figure for the net"""
        if self.sec_per_epoch:
            return float(self.sec_per_epoch), 'given with --sec-per-epoch'
        return plan.sec_per_epoch_estimate(self.net)

    @property
    def usd_per_hour(self):
        return plan.price_per_hour(self.region, self.instance_type, self.spot,
                                   self.price_per_hour)[0]

    def run_experiment_args(self):
        """run_experiment_args() -> the options of a fresh ``run_experiment.py NET`` run"""
        args = ['--epochs', str(self.epochs)]
        if self.preprocess:
            args += ['--preprocess', self.preprocess]
        if self.seed is not None:
            args += ['--seed', str(self.seed)]
        return args + list(self.run_args)


#: The launch options a manual ``resume`` may change (the rest are the run's own).
LAUNCH_OPTIONS = ('instance_type', 'spot', 'ami_parameter', 'subnet_id', 'key_name',
                  'ssh_from', 'shutdown', 'max_restarts', 'price_per_hour', 'sec_per_epoch',
                  'epochs', 'max_hours')
