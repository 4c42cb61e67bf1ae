"""Application Auto Scaling and CloudWatch alarms for SageMaker variants.

Pure decisions (``alarms``: how an alarm's state follows its datapoints; ``policies``: step
scaling, target tracking, cooldowns and how several policies combine) and what applies them:
``book`` (the alarms, evaluated on the recorded metrics), ``targets`` (scalable targets,
policies and activities as records) and ``scaler`` (the loop that turns alarm states into
capacity changes through UpdateEndpointWeightsAndCapacities' path).
"""
