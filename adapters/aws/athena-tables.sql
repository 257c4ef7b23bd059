-- The CloudTrail table Cartographer queries, for example settings: `cartographer athena ddl` prints it for yours
-- (CARTOGRAPHER_ATHENA_LOGS, CARTOGRAPHER_ACCOUNTS, CARTOGRAPHER_ATHENA_FIRST_DAY). Generated from
-- adapters/aws/athena-columns.ts (every CloudTrail column) and adapters/aws/regions.ts (every region).

-- 1. tableStyle = projection (the default): partition projection on account, region and day; no upkeep.
CREATE EXTERNAL TABLE cloudtrail_logs (
  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    onbehalfof: STRUCT<
      userid: STRING,
      identitystorearn: STRING
    >,
    sessioncontext: STRUCT<
      attributes: STRUCT<
        mfaauthenticated: STRING,
        creationdate: STRING
      >,
      sessionissuer: STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        username: STRING
      >,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<
        federatedprovider: STRING,
        attributes: MAP<STRING, STRING>
      >,
      sourceidentity: STRING,
      assumedroot: STRING
    >,
    identityprovider: STRING,
    credentialid: STRING,
    inscopeof: STRUCT<
      sourcearn: STRING,
      sourceaccount: STRING,
      issuertype: STRING,
      credentialsissuedto: STRING
    >
  >,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<
    arn: STRING,
    accountid: STRING,
    type: STRING
  >>,
  eventtype STRING,
  apiversion STRING,
  managementevent STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  addendum STRUCT<
    reason: STRING,
    updatedfields: STRING,
    originalrequestid: STRING,
    originaleventid: STRING
  >,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  tlsdetails STRUCT<
    tlsversion: STRING,
    ciphersuite: STRING,
    clientprovidedhostheader: STRING
  >
)
PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://org-cloudtrail-bucket/AWSLogs/o-exampleorgid/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account.type' = 'enum',
  'projection.account.values' = '111122223333,444455556666',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,sa-east-1,eu-central-1,eu-west-1,eu-west-2,eu-west-3,eu-north-1,ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,af-south-1,ap-east-1,ap-east-2,ap-south-2,ap-southeast-3,ap-southeast-4,ap-southeast-5,ap-southeast-6,ap-southeast-7,ca-west-1,eu-central-2,eu-south-1,eu-south-2,il-central-1,me-central-1,me-south-1,mx-central-1',
  'projection.timestamp.type' = 'date',
  'projection.timestamp.format' = 'yyyy/MM/dd',
  'projection.timestamp.range' = '2024/01/01,NOW',
  'projection.timestamp.interval' = '1',
  'projection.timestamp.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://org-cloudtrail-bucket/AWSLogs/o-exampleorgid/${account}/CloudTrail/${region}/${timestamp}'
);

-- 2. tableStyle = partitioned (classic): the same columns, partitions you add yourself (e.g. a daily job).
CREATE EXTERNAL TABLE cloudtrail_logs_partitioned (
  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    onbehalfof: STRUCT<
      userid: STRING,
      identitystorearn: STRING
    >,
    sessioncontext: STRUCT<
      attributes: STRUCT<
        mfaauthenticated: STRING,
        creationdate: STRING
      >,
      sessionissuer: STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        username: STRING
      >,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<
        federatedprovider: STRING,
        attributes: MAP<STRING, STRING>
      >,
      sourceidentity: STRING,
      assumedroot: STRING
    >,
    identityprovider: STRING,
    credentialid: STRING,
    inscopeof: STRUCT<
      sourcearn: STRING,
      sourceaccount: STRING,
      issuertype: STRING,
      credentialsissuedto: STRING
    >
  >,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<
    arn: STRING,
    accountid: STRING,
    type: STRING
  >>,
  eventtype STRING,
  apiversion STRING,
  managementevent STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  addendum STRUCT<
    reason: STRING,
    updatedfields: STRING,
    originalrequestid: STRING,
    originaleventid: STRING
  >,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  tlsdetails STRUCT<
    tlsversion: STRING,
    ciphersuite: STRING,
    clientprovidedhostheader: STRING
  >
)
PARTITIONED BY (account STRING, region STRING, year STRING, month STRING, day STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://org-cloudtrail-bucket/AWSLogs/o-exampleorgid/';

-- One partition per account, region and day (values zero-padded, as in the S3 keys):
ALTER TABLE cloudtrail_logs_partitioned ADD IF NOT EXISTS
  PARTITION (account = '111122223333', region = 'us-east-1', year = '2026', month = '11', day = '21')
  LOCATION 's3://org-cloudtrail-bucket/AWSLogs/o-exampleorgid/111122223333/CloudTrail/us-east-1/2026/11/21/';
