"""The offline runtime: AWS emulated in-process on moto, SageMaker jobs run for real on this machine.

Never deployed: nothing under functions/, shared/ or sagemaker_jobs/ imports this package.
"""
