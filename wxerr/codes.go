package wxerr

// Every errcode miniship produces or the SDK names. Texts are the official
// English errmsgs (WeChat's global return-code page); codes whose page gives none use the
// text of the per-API page.
const (
	SystemError                Code = -1
	OK                         Code = 0
	InvalidCredential          Code = 40001
	InvalidAppID               Code = 40013
	InvalidAccessToken         Code = 40014
	InvalidArgs                Code = 40097
	InvalidAppSecret           Code = 40125
	InvalidMediaType           Code = 40004
	InvalidMediaSize           Code = 40006
	InvalidMediaID             Code = 40007
	AccessTokenMissing         Code = 41001
	MediaDataMissing           Code = 41005
	AppSecretMissing           Code = 41004
	AccessTokenExpired         Code = 42001
	RequireGET                 Code = 43001
	RequirePOST                Code = 43002
	EmptyPostData              Code = 44002
	DailyQuotaReached          Code = 45009
	MinuteQuotaReached         Code = 45011
	DataFormatError            Code = 47001
	APIUnauthorized            Code = 48001
	ComponentNotAuthorized     Code = 61003
	ComponentTicketExpired     Code = 61005
	ComponentTicketInvalid     Code = 61006
	APIUnauthorizedToComponent Code = 61007
	InvalidComponent           Code = 61011
	MustUseComponentToken      Code = 61014
	InvalidRefreshToken        Code = 61023
	PrivacyScanRunning         Code = 61039
	PrivacyAPINotConfigured    Code = 61040
	PluginVersionInvalid       Code = 80066
	PluginNotFound             Code = 80067
	PluginNoPermission         Code = 80082
	InvalidTag                 Code = 85006
	InvalidPage                Code = 85007
	InvalidCategory            Code = 85008
	AlreadyAuditing            Code = 85009
	MissingItemData            Code = 85010
	InvalidTitle               Code = 85011
	InvalidAuditID             Code = 85012
	InvalidExtJSON             Code = 85013
	TemplateNotExist           Code = 85014
	InvalidVersion             Code = 85015
	NoAuditVersion             Code = 85019
	StatusNotAllowed           Code = 85020
	VisitStatusNotAllowed      Code = 85021
	InvalidVisitAction         Code = 85022
	ItemSizeInvalid            Code = 85023
	InvalidTemplate            Code = 85043
	PackageTooLarge            Code = 85044
	ExtJSONPathNotExist        Code = 85045
	TabBarPagePathMissing      Code = 85046
	PagesEmpty                 Code = 85047
	ExtJSONParseFail           Code = 85048
	DataTooLarge               Code = 85051
	AlreadyReleased            Code = 85052
	DraftNotFound              Code = 85064
	TemplateListFull           Code = 85065
	CategoryInvalid            Code = 85077
	NoOnlineRelease            Code = 85079
	CommitNotApproved          Code = 85080
	InvalidGrayPercentage      Code = 85081
	GrayPercentageTooLow       Code = 85082
	AuditQuotaReached          Code = 85085
	MustCommitFirst            Code = 85086
	NavigateAppIDListMissing   Code = 85087
	InvalidPreviewInfo         Code = 85092
	PreviewInfoTooMany         Code = 85093
	NeedUGCDeclare             Code = 85094
	WrongPrivateAPIName        Code = 85310
	PrivateAPIMutuallyExcl     Code = 85311
	PrivateAPINotAuthorized    Code = 85312
	NotThirdParty              Code = 86000
	NoExperienceVersion        Code = 86001
	NotInitialised             Code = 86002
	GrayReleaseForbidsRevert   Code = 87011
	RevertForbidden            Code = 87012
	UndoQuotaReached           Code = 87013
	SupportVersionError        Code = 89014
	SpeedupSystemUnstable      Code = 89401
	SpeedupNotInQueue          Code = 89402
	SpeedupCategoryNotAllowed  Code = 89403
	SpeedupAlreadyDone         Code = 89404
	SpeedupQuotaReached        Code = 89405
	ConcurrentLimit            Code = 9402202
	StandardTemplateExtJSON    Code = 9402203
)

var texts = map[Code]string{
	SystemError:                "system error",
	OK:                         "ok",
	InvalidCredential:          "invalid credential, access_token is invalid or not latest",
	InvalidAppID:               "invalid appid",
	InvalidAccessToken:         "invalid access_token",
	InvalidArgs:                "invalid args",
	InvalidAppSecret:           "invalid appsecret",
	InvalidMediaType:           "invalid media type",
	InvalidMediaSize:           "invalid meida size",
	InvalidMediaID:             "invalid media_id",
	AccessTokenMissing:         "access_token missing",
	MediaDataMissing:           "media data missing",
	AppSecretMissing:           "appsecret missing",
	AccessTokenExpired:         "access_token expired",
	RequireGET:                 "require GET method",
	RequirePOST:                "require POST method",
	EmptyPostData:              "empty post data",
	DailyQuotaReached:          "reach max api daily quota limit",
	MinuteQuotaReached:         "api minute-quota reach limit, must slower, retry next minute",
	DataFormatError:            "data format error",
	APIUnauthorized:            "api unauthorized",
	ComponentNotAuthorized:     "component is not authorized by this account",
	ComponentTicketExpired:     "component ticket is expired",
	ComponentTicketInvalid:     "component ticket is invalid",
	APIUnauthorizedToComponent: "api is unauthorized to component",
	InvalidComponent:           "invalid component",
	MustUseComponentToken:      "must use component token for component api",
	InvalidRefreshToken:        "refresh_token is invalid",
	PrivacyScanRunning:         "privacy api detection is still running, retry after the scan of the last commit is done",
	PrivacyAPINotConfigured:    "code uses privacy api not declared in requiredPrivateInfos or not authorized; declare and apply for it, or set privacy_api_not_use",
	PluginVersionInvalid:       "invalid plugin version",
	PluginNotFound:             "plugin not found",
	PluginNoPermission:         "no permission to use plugin",
	InvalidTag:                 "tag is in invalid format",
	InvalidPage:                "page is in invalid format",
	InvalidCategory:            "category is in invalid format",
	AlreadyAuditing:            "already submit a version under auditing",
	MissingItemData:            "missing required data",
	InvalidTitle:               "title is in invalid format",
	InvalidAuditID:             "invalid audit id",
	InvalidExtJSON:             "invalid ext_json, parse fail or containing invalid path",
	TemplateNotExist:           "template not exist",
	InvalidVersion:             "invalid version",
	NoAuditVersion:             "no version is under auditing",
	StatusNotAllowed:           "status not allowed",
	VisitStatusNotAllowed:      "status not allowed",
	InvalidVisitAction:         "invalid action",
	ItemSizeInvalid:            "item size is not in valid range",
	InvalidTemplate:            "invalid template, something wrong?",
	PackageTooLarge:            "package exceed max limit",
	ExtJSONPathNotExist:        "some path in ext_json not exist",
	TabBarPagePathMissing:      "pagepath missing in tabbar list",
	PagesEmpty:                 "pages are empty",
	ExtJSONParseFail:           "parse ext_json fail",
	DataTooLarge:               "data too large",
	AlreadyReleased:            "app is already released",
	DraftNotFound:              "template not found",
	TemplateListFull:           "template list is full",
	CategoryInvalid:            "some category you choose is no longer supported, please choose again",
	NoOnlineRelease:            "miniprogram has no online release",
	CommitNotApproved:          "miniprogram commit not approved",
	InvalidGrayPercentage:      "invalid gray percentage",
	GrayPercentageTooLow:       "gray percentage too low",
	AuditQuotaReached:          "submit audit reach limit  pleasetry later",
	MustCommitFirst:            "must commit before submit audit",
	NavigateAppIDListMissing:   "navigatetominiprogram appid list empty",
	InvalidPreviewInfo:         "invalid preview_info format",
	PreviewInfoTooMany:         "invalid preview_info size",
	NeedUGCDeclare:             "need add ugc declare",
	WrongPrivateAPIName:        "is wrong API name",
	PrivateAPIMutuallyExcl:     "is mutually exclusive",
	PrivateAPINotAuthorized:    "is not authorized",
	NotThirdParty:              "should be called only from third party",
	NoExperienceVersion:        "component experience version not exists",
	NotInitialised:             "miniprogram have not completed init procedure",
	GrayReleaseForbidsRevert:   "wxa has a gray release plan, forbid revert release",
	RevertForbidden:            "forbid revert this version release",
	UndoQuotaReached:           "no quota to undo code",
	SupportVersionError:        "support version error",
	SpeedupSystemUnstable:      "system unstable, please retry later",
	SpeedupNotInQueue:          "not in the audit queue",
	SpeedupCategoryNotAllowed:  "category cannot be sped up",
	SpeedupAlreadyDone:         "already sped up",
	SpeedupQuotaReached:        "speedup quota of this month used up",
	ConcurrentLimit:            "concurrent limit",
	StandardTemplateExtJSON:    "invalid ext_json for standard template: only extAppid, ext and window are allowed",
}
